// Command ingestbench runs the full-scale import benchmark: casescope
// ingest (parse, all Sigma rules, 1,000 IOCs, index) over a corpus built by
// mkcorpus, and prints wall time, files/s, events/s, peak RSS, stage
// times, index size per million events and time to the first searchable
// event. With -kill-after it also SIGKILLs an ingest part-way, reruns the
// same command, and checks the event total is exact.
//
//	go build -o /tmp/casescope . && go run ./bench/ingestbench -bin /tmp/casescope -corpus /tmp/corpus -expected 1305456
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

type summary struct {
	Files           int                `json:"files"`
	Completed       int                `json:"completed"`
	Failed          int                `json:"failed"`
	ZeroEvent       int                `json:"zero_event"`
	Duplicates      int                `json:"duplicates"`
	Events          int64              `json:"events"`
	Seconds         float64            `json:"seconds"`
	PeakRSS         int64              `json:"peak_rss_bytes"`
	PeakAnon        int64              `json:"peak_anon_rss_bytes"`
	Stages          map[string]float64 `json:"stages_seconds"`
	FirstSearchable float64            `json:"first_searchable_seconds"`
}

func main() {
	bin := flag.String("bin", "./casescope", "casescope binary")
	corpus := flag.String("corpus", "", "corpus folder (from mkcorpus)")
	expected := flag.Int64("expected", 0, "expected event total (mkcorpus expected_events); 0 = do not check")
	data := flag.String("data", "", "data directory (default: a new temp dir)")
	iocs := flag.Int("iocs", 1000, "IOCs to load before the ingest")
	killAfter := flag.Duration("kill-after", 0, "SIGKILL the first ingest after this long, then rerun it")
	flag.Parse()
	if err := run(*bin, *corpus, *data, *expected, *iocs, *killAfter); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func run(bin, corpus, data string, expected int64, nIOCs int, killAfter time.Duration) error {
	if corpus == "" {
		return fmt.Errorf("-corpus is required")
	}
	if data == "" {
		d, err := os.MkdirTemp("", "casescope-bench-")
		if err != nil {
			return err
		}
		data = d
	}
	iocFile := filepath.Join(data, "bench-iocs.csv")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(iocFile, genIOCs(nIOCs), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command(bin, "iocs", "--data", data, "--case", "bench", "--add", iocFile, "--log-level", "warn").CombinedOutput(); err != nil {
		return fmt.Errorf("add IOCs: %w: %s", err, out)
	}
	args := []string{"ingest", "--data", data, "--case", "bench", "--json", "--log-level", "warn", corpus}
	killed := false
	if killAfter > 0 {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
			return fmt.Errorf("ingest finished before the kill at %s; use a shorter -kill-after", killAfter)
		case <-time.After(killAfter):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed = true
		}
	}
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	wall := time.Since(start)
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return fmt.Errorf("summary %q: %w", out.String(), err)
	}
	// The ledger's total, across the killed and the final run.
	fout, err := exec.Command(bin, "files", "--data", data, "--case", "bench", "--json").Output()
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	var files []struct {
		State  string `json:"state"`
		Events int64  `json:"events"`
		Error  string `json:"error"`
	}
	if err := json.Unmarshal(fout, &files); err != nil {
		return err
	}
	states := map[string]int{}
	var total int64
	for _, f := range files {
		states[f.State]++
		total += f.Events
	}
	idxBytes := dirSize(filepath.Join(data, "cases", "1", "index"))
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	fmt.Printf("| metric | value |\n|---|---|\n")
	fmt.Printf("| files recorded (ledger) | %d |\n", len(files))
	fmt.Printf("| states | %v |\n", states)
	if killed {
		fmt.Printf("| SIGKILL of the first run after | %s |\n", killAfter)
	}
	fmt.Printf("| wall time (final run) | %.1f s |\n", wall.Seconds())
	fmt.Printf("| files/s | %.0f |\n", float64(s.Files)/wall.Seconds())
	fmt.Printf("| events indexed (ledger total) | %d |\n", total)
	if expected > 0 {
		fmt.Printf("| expected events | %d (%s) |\n", expected, map[bool]string{true: "exact", false: "MISMATCH"}[total == expected])
	}
	fmt.Printf("| events/s (final run) | %.0f |\n", float64(s.Events)/wall.Seconds())
	fmt.Printf("| CPU (user+sys) | %.1f s, %.2f cores busy |\n", cpu.Seconds(), cpu.Seconds()/wall.Seconds())
	fmt.Printf("| peak RSS | %.0f MiB (anonymous %.0f MiB) |\n", float64(s.PeakRSS)/(1<<20), float64(s.PeakAnon)/(1<<20))
	fmt.Printf("| stage CPU-time (summed over workers) | %v |\n", s.Stages)
	fmt.Printf("| time to first searchable event | %.2f s |\n", s.FirstSearchable)
	fmt.Printf("| index size | %.1f MiB, %.3f GB per million events |\n", float64(idxBytes)/(1<<20), float64(idxBytes)/1e9/(float64(total)/1e6))
	if expected > 0 && total != expected {
		return fmt.Errorf("event total %d, want %d", total, expected)
	}
	if states["queued"]+states["indexing"]+states["sigma"]+states["ioc"] > 0 {
		return fmt.Errorf("files left pending: %v", states)
	}
	return nil
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// genIOCs makes n realistic IOCs deterministically; a handful are values
// that occur in the corpus, the rest are random.
func genIOCs(n int) []byte {
	r := rand.New(rand.NewPCG(1000, 1))
	var b bytes.Buffer
	b.WriteString("type,value,description\n")
	real := []string{"filename,mimikatz.exe,real", "filename,psexec.exe,real", "username,IEUser,real",
		"command,-enc,real", "filename,whoami.exe,real", "string,sekurlsa,real", "ip,10.0.2.16,real",
		"hostname,MSEDGEWIN10,real", "sid,S-1-5-18,real"}
	for _, l := range real {
		if n <= 0 {
			break
		}
		b.WriteString(l + "\n")
		n--
	}
	hex := func(k int) string {
		const d = "0123456789abcdef"
		s := make([]byte, k)
		for i := range s {
			s[i] = d[r.IntN(16)]
		}
		return string(s)
	}
	for i := 0; i < n; i++ {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, "ip,%d.%d.%d.%d,random\n", 11+r.IntN(200), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		case 1:
			fmt.Fprintf(&b, "sha256,%s,random\n", hex(64))
		case 2:
			fmt.Fprintf(&b, "md5,%s,random\n", hex(32))
		case 3:
			fmt.Fprintf(&b, "domain,%s.example-bad%d.com,random\n", hex(8), i)
		case 4:
			fmt.Fprintf(&b, "filename,tool_%s.exe,random\n", hex(6))
		default:
			fmt.Fprintf(&b, "string,payload-%s,random\n", hex(10))
		}
	}
	return b.Bytes()
}
