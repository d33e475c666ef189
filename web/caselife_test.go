package web_test

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"casescope/engine"
	"casescope/store"
)

// dirSize is the bytes of regular files under dir (hard links counted
// once per name, as du --count-links would; enough to see a case go).
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			st, err := d.Info()
			if err != nil {
				return err
			}
			n += st.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCaseLifecycleAPI: a closed case refuses changes with a readable
// 409 and takes them again once reopened; an analyst downloads the case
// archive and imports it under another name (a taken name is a 409, a
// damaged archive a 400 that leaves no case); an admin deletes the case,
// which frees its disk and is audited.
func TestCaseLifecycleAPI(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "life")
	if st, raw := r.upload(t, c.ID, uploadFile{"Security_short_selected.evtx", fixture(t, "Security_short_selected.evtx")},
		uploadFile{"Application_no_crc32.evtx", fixture(t, "Application_no_crc32.evtx")}); st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(t)

	ioc := map[string]any{"iocs": []map[string]string{{"type": "username", "value": "IEUser"}}}
	if st, raw := r.callAs(t, store.RoleAnalyst, "POST", "/api/cases/life/status", map[string]string{"status": "closed"}, nil); st != http.StatusOK {
		t.Fatalf("close: %d %s", st, raw)
	}
	st, raw := r.callAs(t, store.RoleAnalyst, "POST", "/api/cases/life/iocs", ioc, nil)
	if st != http.StatusConflict || !strings.Contains(errorOf(t, raw), "closed; reopen it") {
		t.Errorf("IOC on a closed case: %d %s, want 409 saying it is closed", st, raw)
	}
	if st, raw := r.upload(t, c.ID, uploadFile{"Empty.evtx", fixture(t, "Empty.evtx")}); st != http.StatusConflict {
		t.Errorf("upload to a closed case: %d %s, want 409", st, raw)
	}
	if st, _ := r.callAs(t, store.RoleReadOnly, "GET", "/api/cases/life/search?q=*", nil, nil); st != http.StatusOK {
		t.Errorf("search on a closed case: %d, want 200", st)
	}
	if st, raw := r.callAs(t, store.RoleAnalyst, "POST", "/api/cases/life/status", map[string]string{"status": "open"}, nil); st != http.StatusOK {
		t.Fatalf("reopen: %d %s", st, raw)
	}
	if st, raw := r.callAs(t, store.RoleAnalyst, "POST", "/api/cases/life/iocs", ioc, nil); st >= 300 {
		t.Errorf("IOC on a reopened case: %d %s", st, raw)
	}
	for _, j := range r.eng.Jobs() {
		if _, err := r.eng.WaitJob(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	r.waitIdle(t)

	// Archive download as an analyst.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", r.srv.URL+"/api/cases/life/archive", nil)
	r.authorize(req, store.RoleAnalyst)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	archive, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "life.casescope.tar") {
		t.Fatalf("archive: %d %v %q", res.StatusCode, err, res.Header.Get("Content-Disposition"))
	}
	post := func(as string, body []byte) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", r.srv.URL+"/api/case-archives?as="+as, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-tar")
		r.authorize(req, store.RoleAnalyst)
		res, err := r.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	if st, raw := post("", archive); st != http.StatusConflict || !strings.Contains(errorOf(t, raw), "--as") {
		t.Errorf("import under a taken name: %d %s, want 409 naming --as", st, raw)
	}
	damaged := bytes.Clone(archive)
	damaged[len(damaged)/3] ^= 1
	if st, raw := post("damaged", damaged); st != http.StatusBadRequest {
		t.Errorf("damaged archive: %d %s, want 400", st, raw)
	}
	if _, err := r.ledger.CaseByName("damaged"); err == nil {
		t.Errorf("damaged archive left a case")
	}
	var imp engine.CaseImport
	st, raw = post("life-copy", archive)
	if st != http.StatusCreated || jsonUnmarshal(raw, &imp) != nil || imp.Case.Name != "life-copy" || imp.Manifest.ExportedBy != "analyst" {
		t.Fatalf("import: %d %s", st, raw)
	}
	r.waitIdle(t)
	if got, want := r.searchTotal(t, imp.Case.ID), r.searchTotal(t, c.ID); got != want || want == 0 {
		t.Errorf("imported case: %d events, original %d", got, want)
	}

	// Delete: only an admin; the case's disk is freed and audited.
	before := dirSize(t, r.data)
	caseDir := r.eng.CaseDir(c.ID)
	caseBytes := dirSize(t, caseDir)
	if st, _ := r.callAs(t, store.RoleAnalyst, "DELETE", "/api/cases/life/", nil, nil); st != http.StatusForbidden {
		t.Errorf("analyst delete: %d, want 403", st)
	}
	if st, raw := r.call(t, "DELETE", "/api/cases/life/", nil, nil); st != http.StatusOK {
		t.Fatalf("delete: %d %s", st, raw)
	}
	after := dirSize(t, r.data)
	if _, err := os.Stat(caseDir); !os.IsNotExist(err) {
		t.Errorf("case folder still there: %v", err)
	}
	t.Logf("data dir %d bytes before delete, %d after; the case's folder held %d", before, after, caseBytes)
	if before-after < caseBytes/2 || caseBytes == 0 {
		t.Errorf("delete freed %d bytes, the case's folder held %d", before-after, caseBytes)
	}
	r.waitAudit(t, "case.delete", "admin")
}
