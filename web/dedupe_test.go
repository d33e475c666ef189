package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"casescope/internal/corpus"
	"casescope/store"
)

// corpusSample returns n shared-corpus EVTX files (by ElfFile signature)
// of distinct content, smallest first.
func corpusSample(t *testing.T, n int) []uploadFile {
	t.Helper()
	paths := corpus.EVTXFiles(t, filepath.Join(corpus.Shared(t), "evtx"))
	type cand struct {
		f    uploadFile
		size int
	}
	var cs []cand
	seen := map[string]bool{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		k := hex.EncodeToString(sum[:])
		if len(b) < 8 || string(b[:8]) != "ElfFile\x00" || seen[k] {
			continue
		}
		seen[k] = true
		cs = append(cs, cand{uploadFile{filepath.Base(p), b}, len(b)})
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].size < cs[b].size })
	if len(cs) < n {
		t.Skipf("the shared corpus has %d distinct EVTX files, need %d", len(cs), n)
	}
	out := make([]uploadFile, n)
	for i := range out {
		out[i] = cs[i].f
	}
	return out
}

// uploadErr is rig.upload for other goroutines: errors are returned.
func (r *rig) uploadErr(caseID uint64, files []uploadFile) (uploadAnswer, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range files {
		w, err := mw.CreateFormFile("file", f.name)
		if err != nil {
			return uploadAnswer{}, err
		}
		if _, err := w.Write(f.data); err != nil {
			return uploadAnswer{}, err
		}
	}
	if err := mw.Close(); err != nil {
		return uploadAnswer{}, err
	}
	req, err := http.NewRequest("POST", r.srv.URL+"/api/cases/"+itoa(caseID)+"/upload", &body)
	if err != nil {
		return uploadAnswer{}, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r.authorize(req, store.RoleAdmin)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		return uploadAnswer{}, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return uploadAnswer{}, fmt.Errorf("upload: got %d %s", res.StatusCode, raw)
	}
	var a uploadAnswer
	if err := jsonUnmarshal(string(raw), &a); err != nil {
		return uploadAnswer{}, fmt.Errorf("upload answer %q: %w", raw, err)
	}
	return a, nil
}

// evidenceOnDisk returns the bytes the case's evidence occupies (each
// inode counted once: hard links share their content) and how many
// distinct inodes hold it, outside the index.
func evidenceOnDisk(t *testing.T, caseDir string) (bytes int64, files int) {
	t.Helper()
	seen := map[uint64]bool{}
	err := filepath.WalkDir(caseDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// The index and the per-file triage summaries are derived from the
		// evidence, not evidence.
		if d.IsDir() && (d.Name() == "index" || d.Name() == "triage") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok || seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		bytes += info.Size()
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bytes, files
}

func (r *rig) searchTotal(t *testing.T, caseID uint64) uint64 {
	t.Helper()
	var a searchAnswer
	if st, raw := r.call(t, "GET", "/api/cases/"+itoa(caseID)+"/search?size=1&facets=0", nil, &a); st != http.StatusOK {
		t.Fatalf("search: got %d %s", st, raw)
	}
	return a.Total
}

// TestConcurrentDuplicateUploads has 4 clients upload the same 24 corpus
// files at once: each content is stored once, one record per sha256 is
// not a duplicate, the answers account for every part, the search total
// equals one upload's, and deleting a duplicate leaves the original's
// evidence and events.
func TestConcurrentDuplicateUploads(t *testing.T) {
	files := corpusSample(t, 24)
	var want int64
	for _, f := range files {
		want += int64(len(f.data))
	}
	r := newRig(t, rigOptions{})

	single := r.createCase(t, "single")
	if _, err := r.uploadErr(single.ID, files); err != nil {
		t.Fatal(err)
	}
	r.waitIdle(t)
	wantTotal := r.searchTotal(t, single.ID)

	c := r.createCase(t, "concurrent")
	const clients = 4
	answers := make([]uploadAnswer, clients)
	errs := make([]error, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = r.uploadErr(c.ID, files)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r.waitIdle(t)

	var queued, dupes, rejected int
	for _, a := range answers {
		for _, f := range a.Files {
			queued += f.Queued
			dupes += f.Duplicates
			rejected += f.Rejected
		}
	}
	if queued != len(files) || dupes != (clients-1)*len(files) || rejected != 0 {
		t.Errorf("answers: got queued=%d duplicates=%d rejected=%d, want %d, %d, 0", queued, dupes, rejected, len(files), (clients-1)*len(files))
	}
	recs, err := r.ledger.Files(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	originals := map[string]int{}
	paths := map[string]uint64{}
	for _, f := range recs {
		if f.State != store.StateDuplicate {
			originals[f.SHA256]++
		}
		if prev, ok := paths[f.Path]; ok {
			t.Errorf("files %d and %d both name %s", prev, f.ID, f.Path)
		}
		paths[f.Path] = f.ID
	}
	if len(recs) != clients*len(files) || len(originals) != len(files) {
		t.Errorf("records: got %d (%d contents), want %d (%d)", len(recs), len(originals), clients*len(files), len(files))
	}
	for sum, n := range originals {
		if n != 1 {
			t.Errorf("content %s: %d non-duplicate records, want 1", sum[:16], n)
		}
	}
	caseDir := r.eng.CaseDir(c.ID)
	gotBytes, gotFiles := evidenceOnDisk(t, caseDir)
	t.Logf("4 clients × %d files: %d records, evidence on disk %d bytes in %d files (one upload: %d bytes)", len(files), len(recs), gotBytes, gotFiles, want)
	if gotBytes != want || gotFiles != len(files) {
		t.Errorf("evidence on disk: got %d bytes in %d files, want %d in %d (each content once)", gotBytes, gotFiles, want, len(files))
		_ = filepath.WalkDir(caseDir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !strings.Contains(p, "/index/") {
				info, _ := d.Info()
				t.Logf("%s %d links=%d", p, info.Size(), info.Sys().(*syscall.Stat_t).Nlink)
			}
			return nil
		})
	}
	if got := r.searchTotal(t, c.ID); got != wantTotal {
		t.Errorf("search total: got %d, want %d (one upload)", got, wantTotal)
	}

	// Delete every duplicate: the originals keep their evidence, their
	// events, and a requeue re-reads them.
	var orig store.File
	for _, f := range recs {
		if f.State == store.StateDuplicate {
			if st, raw := r.call(t, "DELETE", "/api/cases/"+itoa(c.ID)+"/files/"+itoa(f.ID), nil, nil); st >= 300 {
				t.Fatalf("delete duplicate %d: got %d %s", f.ID, st, raw)
			}
		} else if f.Events > 0 && orig.ID == 0 {
			orig = f
		}
	}
	for _, f := range recs {
		if f.State == store.StateDuplicate {
			continue
		}
		if _, err := os.Stat(f.Path); err != nil {
			t.Errorf("original %d (%s) lost its evidence: %v", f.ID, f.Name, err)
		}
	}
	if got := r.searchTotal(t, c.ID); got != wantTotal {
		t.Errorf("search total after deleting duplicates: got %d, want %d", got, wantTotal)
	}
	if st, raw := r.call(t, "POST", "/api/cases/"+itoa(c.ID)+"/files/"+itoa(orig.ID)+"/requeue", nil, nil); st >= 300 {
		t.Fatalf("requeue %d: got %d %s", orig.ID, st, raw)
	}
	r.waitIdle(t)
	f, err := r.ledger.File(c.ID, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if f.State != store.StateCompleted || f.Events != orig.Events {
		t.Errorf("requeued original: got %s with %d events (%s), want completed with %d", f.State, f.Events, f.Error, orig.Events)
	}
	if got := r.searchTotal(t, c.ID); got != wantTotal {
		t.Errorf("search total after requeue: got %d, want %d", got, wantTotal)
	}
}

// TestFileAccountingJSON: the files list carries each file's accounting
// (records expected, skipped, problems) and its warnings, which the UI's
// Notes and detail show.
func TestFileAccountingJSON(t *testing.T) {
	r := newRig(t, rigOptions{})
	c := r.createCase(t, "acct")
	if st, raw := r.upload(t, c.ID, uploadFile{"lp.evtx", fixture(t, "LanguagePackSetup_truncated.evtx")}); st != http.StatusOK {
		t.Fatalf("upload: got %d %s", st, raw)
	}
	r.waitIdle(t)
	var files []map[string]any
	if st, raw := r.call(t, "GET", "/api/cases/"+itoa(c.ID)+"/files", nil, &files); st != http.StatusOK || len(files) != 1 {
		t.Fatalf("files: got %d %s", st, raw)
	}
	f := files[0]
	// 20 records declared by the chunk header, 16 read (libevtx's
	// evtxexport count), the rest skipped.
	if f["records_expected"] != float64(20) || f["events"] != float64(16) || f["records_skipped"] != float64(4) {
		t.Errorf("accounting: got expected %v, events %v, skipped %v; want 20, 16, 4", f["records_expected"], f["events"], f["records_skipped"])
	}
	if ps, _ := f["problems"].([]any); len(ps) == 0 {
		t.Errorf("problems: got %v, want the reader's problems", f["problems"])
	}
	if ws, _ := f["warnings"].([]any); len(ws) == 0 {
		t.Errorf("warnings: got %v, want the losses as warnings", f["warnings"])
	}
}
