package ioc

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"casescope/evtx"
)

// sharedTestdata returns the shared test data folder: $CASESCOPE_TESTDATA,
// else ../shared/testdata beside the repository root. Without it the test
// is skipped, or fails when CI=true.
func sharedTestdata(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CASESCOPE_TESTDATA")
	if dir == "" {
		root, err := repoRoot()
		if err == nil {
			dir = filepath.Join(root, "..", "shared", "testdata")
		}
	}
	if dir != "" {
		if st, err := os.Stat(filepath.Join(dir, "expected")); err == nil && st.IsDir() {
			return dir
		}
	}
	msg := "shared test data not found: set CASESCOPE_TESTDATA or put it at ../shared/testdata beside the repository"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// repoRoot walks up from the working directory to the folder with go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// jsonRecord is one line of expected/sample-*.jsonl (python-evtx).
type jsonRecord struct {
	EventRecordID uint64     `json:"EventRecordID"`
	EventID       uint32     `json:"EventID"`
	Computer      string     `json:"Computer"`
	Channel       string     `json:"Channel"`
	Provider      string     `json:"Provider"`
	EventData     []jsonPair `json:"EventData"`
	UserData      *struct {
		Element string     `json:"element"`
		Fields  []jsonPair `json:"fields"`
	} `json:"UserData"`
}

type jsonPair struct {
	Name  *string `json:"Name"`
	Value *string `json:"Value"`
}

// field is a flattened (name, value) pair of a record, System fields
// included, as the matcher sees them.
type field struct{ name, value string }

// fields flattens r the way evtx.Event does: System fields Computer,
// Provider and Channel, then EventData (unnamed <Data> as Data, Data_1, …)
// or UserData as "element.Name"; null values become "".
func (r jsonRecord) fields() []field {
	out := []field{{"Computer", r.Computer}, {"Provider", r.Provider}, {"Channel", r.Channel}}
	unnamed := 0
	for _, p := range r.EventData {
		name := ""
		if p.Name != nil {
			name = *p.Name
		} else {
			name = "Data"
			if unnamed > 0 {
				name += "_" + strconv.Itoa(unnamed)
			}
			unnamed++
		}
		out = append(out, field{name, deref(p.Value)})
	}
	if r.UserData != nil {
		for _, p := range r.UserData.Fields {
			out = append(out, field{r.UserData.Element + "." + deref(p.Name), deref(p.Value)})
		}
	}
	return out
}

func (r jsonRecord) event() *evtx.Event {
	ev := &evtx.Event{RecordID: r.EventRecordID, EventID: r.EventID}
	for _, f := range r.fields() {
		switch f.name {
		case "Computer":
			ev.Computer = f.value
		case "Provider":
			ev.Provider = f.value
		case "Channel":
			ev.Channel = f.value
		default:
			ev.Data = append(ev.Data, evtx.Field{Name: f.name, Value: f.value})
		}
	}
	return ev
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// readJSONL loads one expected/sample-*.jsonl file.
func readJSONL(t testing.TB, path string) []jsonRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []jsonRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var r jsonRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadEvents streams EVTX files below dir/evtx (skipping malformed/ and
// empty/) into memory, at most limit events.
func loadEvents(t testing.TB, dir string, limit int) []*evtx.Event {
	t.Helper()
	var out []*evtx.Event
	root := filepath.Join(dir, "evtx")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "malformed" || name == "empty" {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(path) != ".evtx" || len(out) >= limit {
			return nil
		}
		_, err = evtx.StreamFile(t.Context(), path, func(ev *evtx.Event) error {
			if len(out) < limit {
				out = append(out, ev)
			}
			return nil
		})
		if err != nil {
			t.Logf("skip %s: %v", path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
