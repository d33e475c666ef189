package input_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"casescope/evtx"
	"casescope/input"
)

// FuzzInput feeds arbitrary bytes to detection, streaming and read-back:
// nothing may panic or hang, every delivered record is counted, and each
// reads back by its offset. Seeds: one small file of each format (and a
// gzip one); testdata/fuzz/FuzzInput keeps crashers.
func FuzzInput(f *testing.F) {
	seeds := []string{
		`{"Event":{"System":{"EventID":4624,"Channel":"Security","TimeCreated":{"#attributes":{"SystemTime":"2024-01-02T03:04:05Z"}}},"EventData":{"A":"b"}}}`,
		"{\"EventID\":1,\"Channel\":\"security\",\"EventData\":\"<EventData><Data Name='x'>1</Data></EventData>\"}\n{\"a\":\n",
		`[{"winlog":{"event_id":"7036","channel":"System","event_data":{"x":1}},"@timestamp":"2019-07-30T14:38:16.352Z"},{"a":[1,{"b":null}]}]`,
		"{\n  \"a\": 1\n}\n{\n  \"b\": [true]\n}\n",
		"<Events><Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID Qualifiers='0'>5</EventID><TimeCreated SystemTime='2022-03-22T02:03:11.5Z'/></System><EventData><Data>x</Data></EventData></Event></Events>",
		"#Software: Microsoft Internet Information Services 10.0\n#Date: 2021-04-01 00:00:00\n#Fields: date time cs-method cs-uri-stem sc-status cs(User-Agent)\n2021-04-01 00:00:21 GET / 200 Mozilla/5.0+x\n\"q\" x\n",
		"10.0.0.1 - - [13/Jan/2016:19:31:16 +0000] \"GET /a?b HTTP/1.1\" 404 5 \"-\" \"curl\"\nnot a line\n",
		"datetime,message,timestamp\n2024-01-01T00:00:00Z,\"multi\nline\",1\n,bad \"quote,2\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(seeds[0]))
	zw.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "in")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var evs []*evtx.Event
		st, format, err := input.Stream(t.Context(), p, evtx.Options{}, func(ev *evtx.Event) error {
			evs = append(evs, ev)
			return nil
		})
		if err != nil {
			return
		}
		if st.Records != len(evs) || st.RecordsExpected != st.Records+st.SkippedRecords {
			t.Fatalf("stats %+v for %d events", st, len(evs))
		}
		if format == input.EVTX {
			return
		}
		for _, ev := range evs {
			back, err := input.ReadAt(t.Context(), p, format, ev.ChunkOffset, ev.RecordOffset)
			if err != nil {
				t.Fatalf("record at %d/%d does not read back: %v", ev.ChunkOffset, ev.RecordOffset, err)
			}
			if len(back.Data) != len(ev.Data) {
				t.Fatalf("record at %d/%d reads back with %d fields, streamed with %d", ev.ChunkOffset, ev.RecordOffset, len(back.Data), len(ev.Data))
			}
		}
	})
}
