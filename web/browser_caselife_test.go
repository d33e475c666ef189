package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"casescope/engine"
	"casescope/store"
)

// TestBrowserCaseLifecycle drives the Cases page: an analyst closes a
// case (the server then refuses changes to it) and imports a case
// archive under another name with the file picker; an admin deletes the
// imported case.
func TestBrowserCaseLifecycle(t *testing.T) {
	r := newRig(t, rigOptions{web: webConfig()})
	c := r.createCase(t, "shelf")
	if st, raw := r.upload(t, c.ID, uploadFile{"Security.evtx", fixture(t, "Security_short_selected.evtx")}); st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(t)
	archive := filepath.Join(t.TempDir(), "shelf.casescope.tar")
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.ExportCase(t.Context(), c.ID, f, engine.ExportOptions{User: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, r.srv.URL)
	b.login("analyst", testPasswords[store.RoleAnalyst])
	b.do("cases", chromedp.WaitVisible(chromedp.CSS("#cases-table tbody tr[data-id] select.case-status")))
	eval[chromedp.Void](b, `(() => { const s = document.querySelector('#cases-table select.case-status'); s.value = 'closed'; s.dispatchEvent(new Event('change')); })()`)
	b.waitFor("the closed toast", `document.body.textContent.includes('is closed: read-only until reopened')`, 15*time.Second)
	if got, err := r.ledger.Case(c.ID); err != nil || got.Status != store.CaseClosed {
		t.Fatalf("status after closing in the UI: %q, err %v", got.Status, err)
	}
	if st, _ := r.upload(t, c.ID, uploadFile{"Empty.evtx", fixture(t, "Empty.evtx")}); st != http.StatusConflict {
		t.Errorf("upload to the case closed in the UI: %d, want 409", st)
	}
	b.do("open the closed case", chromedp.Click(chromedp.CSS(`#cases-table tbody tr[data-id] .case-title`)))
	b.waitFor("the read-only status in the top bar", `document.querySelector('#case-stats').textContent.includes('read-only')`, 15*time.Second)
	b.shot("caselife-00-closed-case")
	b.do("back to the cases", chromedp.Click(chromedp.CSS(`.nav-item[data-view="cases"]`)), chromedp.WaitVisible(chromedp.CSS("#import-archive-form")))
	b.do("choose the archive", chromedp.SetUploadFiles(chromedp.CSS("#import-archive-file"), []string{archive}, chromedp.NodeReady),
		chromedp.SendKeys(chromedp.CSS("#import-archive-as"), "shelf-restored"), chromedp.Click(chromedp.CSS("#import-archive")))
	b.waitFor("the imported case in the table", `[...document.querySelectorAll('#cases-table .case-title')].some((e) => e.textContent === 'shelf-restored')`, 30*time.Second)
	b.shot("caselife-01-imported")
	b.do("log out", chromedp.Click(chromedp.CSS("#logout-btn")), chromedp.WaitVisible(chromedp.CSS("#login-form")))

	b.login("admin", testPasswords[store.RoleAdmin])
	b.do("cases", chromedp.WaitVisible(chromedp.CSS("#cases-table tbody tr[data-id] .case-delete")))
	restored, err := r.ledger.CaseByName("shelf-restored")
	if err != nil {
		t.Fatal(err)
	}
	r.waitIdle(t)
	eval[chromedp.Void](b, `(() => { window.confirm = () => true; document.querySelector('#cases-table tr[data-id="`+itoa(restored.ID)+`"] .case-delete').click(); })()`)
	b.waitFor("the deleted case gone", `![...document.querySelectorAll('#cases-table .case-title')].some((e) => e.textContent === 'shelf-restored')`, 30*time.Second)
	if _, err := r.ledger.CaseByName("shelf-restored"); err == nil {
		t.Errorf("case still in the ledger after delete in the UI")
	}
	b.checkClean()
}
