package corpus

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"casescope/internal/libevtx"
)

// Evtxexport finds libevtx's evtxexport (Debian libevtx-utils). Without it
// the test is skipped, except under CI=true, where its absence fails.
func Evtxexport(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("evtxexport")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("evtxexport not found (Debian package libevtx-utils): %v", err)
		}
		t.Skipf("evtxexport not found (install Debian package libevtx-utils to run this test): %v", err)
	}
	return bin
}

// Recovered maps each corpus file libevtx flags as corrupted (path relative
// to evtx/) to its live recovered records: those libevtx recovers past a
// broken record header that are numbered inside a chunk's declared range
// (libevtx.LiveRecoveredRecords). casescope's reader delivers them too, so
// they belong to the ground truth of an ingest. Files with none are left
// out.
func Recovered(t testing.TB, dir string) map[string][]libevtx.Record {
	t.Helper()
	bin := Evtxexport(t)
	out := map[string][]libevtx.Record{}
	for _, c := range Counts(t, dir) {
		if !c.Corrupted() {
			continue
		}
		recs, err := libevtx.LiveRecoveredRecords(t.Context(), bin, filepath.Join(dir, "evtx", filepath.FromSlash(c.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			out[c.Path] = recs
		}
	}
	return out
}

// Expected maps each corpus file (path relative to evtx/) to the records
// an ingest must index: libevtx's allocated records plus its live
// recovered ones (Recovered).
func Expected(t testing.TB, dir string) map[string]int {
	t.Helper()
	out := LibevtxCounts(t, dir)
	for p, recs := range Recovered(t, dir) {
		out[p] += len(recs)
	}
	return out
}
