package input_test

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"casescope/evtx"
	"casescope/input"
	"casescope/internal/corpus"
)

// sourceRow is one file of inputs/SOURCES.md's table: its kind and the
// record count its authors made with plain json / csv / line counting.
type sourceRow struct {
	kind, path string
	records    int
}

func readSources(t *testing.T, root string) []sourceRow {
	t.Helper()
	f, err := os.Open(filepath.Join(root, "SOURCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []sourceRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), " | ")
		if len(c) < 10 || !strings.HasPrefix(c[1], "`") {
			continue
		}
		n, err := strconv.Atoi(strings.Fields(c[8])[0])
		if err != nil {
			t.Fatalf("records column of %q: %v", sc.Text(), err)
		}
		rows = append(rows, sourceRow{kind: strings.TrimPrefix(c[0], "| "), path: strings.Trim(c[1], "`"), records: n})
	}
	if len(rows) != 60 {
		t.Fatalf("%d files in SOURCES.md, want 60", len(rows))
	}
	return rows
}

// formats are the formats each corpus kind may be read as.
var formats = map[string][]input.Format{
	"winevent-json-ecs":  {input.WinEventJSON},
	"winevent-json-flat": {input.WinEventJSON},
	"winevent-xml":       {input.WinEventXML},
	"velociraptor-json":  {input.JSON},
	"edr-ndjson":         {input.JSON, input.ZeekTSV},
	"csv-timeline":       {input.CSV, input.JSON},
	"weblog":             {input.W3C, input.AccessLog},
}

// unsupported are corpus files of a format casescope does not read yet,
// with why; they must be refused as such (never half read).
var unsupported = map[string]string{}

// TestCorpusRecords streams every file of the inputs corpus, plain and
// gzip-compressed: each yields exactly the records SOURCES.md counts
// (JSON values, XML events, CSV rows with multi-line fields counted
// once, non-# log lines), none skipped, in a format of its kind; and
// records read back by their offsets with the same fields.
func TestCorpusRecords(t *testing.T) {
	root := filepath.Join(corpus.Shared(t), "inputs")
	for _, row := range readSources(t, root) {
		t.Run(row.path, func(t *testing.T) {
			p := filepath.Join(root, filepath.FromSlash(row.path))
			if why, ok := unsupported[row.path]; ok {
				_, _, err := input.Stream(t.Context(), p, evtx.Options{}, func(*evtx.Event) error { return nil })
				if !errors.Is(err, input.ErrUnsupported) {
					t.Errorf("got %v, want ErrUnsupported (%s)", err, why)
				}
				return
			}
			evs, f := streamAll(t, p, row.records)
			if !slices.Contains(formats[row.kind], f) {
				t.Errorf("read as %q, want one of %v", f, formats[row.kind])
			}
			// Up to 20 records spread over the file, the last included.
			step := max(1, len(evs)/20)
			for i := len(evs) - 1; i >= 0; i -= step {
				ev := evs[i]
				back, err := input.ReadAt(t.Context(), p, f, ev.ChunkOffset, ev.RecordOffset)
				if err != nil {
					t.Fatalf("record %d at %d/%d: %v", i, ev.ChunkOffset, ev.RecordOffset, err)
				}
				if !slices.Equal(back.Data, ev.Data) || back.EventID != ev.EventID || !back.TimeCreated.Equal(ev.TimeCreated) ||
					back.ChunkOffset != ev.ChunkOffset || back.RecordOffset != ev.RecordOffset {
					t.Fatalf("record %d reads back differently:\n got %+v\nwant %+v", i, back, ev)
				}
			}
			if st, err := os.Stat(p); err != nil || st.Size() > 64<<10 {
				return // gzip checked on the small files: the reader is the same
			}
			gz := gzipCopy(t, p)
			gevs, gf := streamAll(t, gz, row.records)
			if gf != f+input.GzipSuffix {
				t.Errorf("gzip copy read as %q, want %q", gf, f+input.GzipSuffix)
			}
			last := gevs[len(gevs)-1]
			back, err := input.ReadAt(t.Context(), gz, gf, last.ChunkOffset, last.RecordOffset)
			if err != nil || !slices.Equal(back.Data, last.Data) {
				t.Errorf("last record of the gzip copy reads back as %+v, %v", back, err)
			}
		})
	}
}

func streamAll(t *testing.T, p string, want int) ([]*evtx.Event, input.Format) {
	t.Helper()
	var evs []*evtx.Event
	st, f, err := input.Stream(t.Context(), p, evtx.Options{}, func(ev *evtx.Event) error {
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(evs) != want || st.Records != want || st.SkippedRecords != 0 || st.RecordsExpected != want {
		t.Fatalf("%d events, stats %d read %d skipped %d expected (%v); want %d, none skipped",
			len(evs), st.Records, st.SkippedRecords, st.RecordsExpected, st.Warnings, want)
	}
	return evs, f
}

func gzipCopy(t *testing.T, p string) string {
	t.Helper()
	in, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out := filepath.Join(t.TempDir(), filepath.Base(p)+".gz")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := io.Copy(zw, in); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
