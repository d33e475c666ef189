// Command mktext builds the text-format benchmark inputs from the shared
// corpus: one large Winlogbeat/ECS NDJSON file (the Logprep sample's 838
// records repeated) and one large IIS W3C log (iis10_edge_cases.log's
// header, then its 15 data lines repeated), and prints the events each
// holds. Content is repeated whole, so every line is a real record.
//
//	go run ./bench/mktext -src ../shared/testdata -out /tmp/textbench -ndjson 120 -w3c 13000
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	src := flag.String("src", "../shared/testdata", "shared test corpus")
	out := flag.String("out", "", "output folder (gets ndjson/ and w3c/)")
	nj := flag.Int("ndjson", 120, "copies of the 838-record ECS NDJSON sample")
	nw := flag.Int("w3c", 13000, "copies of the 15 W3C data lines")
	flag.Parse()
	if err := run(*src, *out, *nj, *nw); err != nil {
		fmt.Fprintln(os.Stderr, "mktext:", err)
		os.Exit(1)
	}
}

func run(src, out string, nj, nw int) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	in := filepath.Join(src, "inputs")
	ecs, err := os.ReadFile(filepath.Join(in, "winevent-json-ecs", "logprep", "wineventlog_raw.jsonl"))
	if err != nil {
		return err
	}
	if !bytes.HasSuffix(ecs, []byte("\n")) {
		ecs = append(ecs, '\n') // the sample's last line has no line break
	}
	perCopy := bytes.Count(ecs, []byte("\n"))
	if err := write(filepath.Join(out, "ndjson", "wineventlog.jsonl"), func(w *bufio.Writer) error {
		for i := 0; i < nj; i++ {
			if _, err := w.Write(ecs); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	iis, err := os.ReadFile(filepath.Join(in, "weblog", "plaso", "iis10_edge_cases.log"))
	if err != nil {
		return err
	}
	var head, data []string
	for _, l := range strings.SplitAfter(string(iis), "\n") {
		switch {
		case l == "":
		case strings.HasPrefix(l, "#"):
			if len(data) == 0 {
				head = append(head, l)
			}
		default:
			data = append(data, l)
		}
	}
	if err := write(filepath.Join(out, "w3c", "u_ex220101.log"), func(w *bufio.Writer) error {
		for _, l := range head {
			w.WriteString(l)
		}
		for i := 0; i < nw; i++ {
			for _, l := range data {
				if _, err := w.WriteString(l); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Printf("ndjson: %d events\nw3c: %d events\n", nj*perCopy, nw*len(data))
	return nil
}

func write(path string, fill func(*bufio.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fill(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
