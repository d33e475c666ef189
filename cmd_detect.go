package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/engine/sigma"
	"casescope/store"
)

func cmdHits(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("hits", stderr, &c)
	caseName := fs.String("case", "", "case name (env CASESCOPE_CASE)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, cs, err := c.openCase(ctx, stderr, *caseName)
	if err != nil {
		return err
	}
	defer a.close()
	sum, err := a.eng.SigmaSummary(cs.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(sum)
	}
	for _, r := range sum {
		fmt.Fprintf(stdout, "%-13s %6d  %s\n", r.Level, r.Count, r.Title)
	}
	return nil
}

func cmdIOCs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("iocs", stderr, &c)
	caseName := fs.String("case", "", "case name (env CASESCOPE_CASE)")
	add := fs.String("add", "", "CSV file of IOCs to add (type,value,description; header optional); re-hunts the case")
	addText := fs.String("add-text", "", "text file of IOCs, one per line, type detected; re-hunts the case")
	export := fs.String("export", "", "write the case's IOCs to this CSV file (type,value,description,enabled,source)")
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	start := *add != "" || *addText != ""
	a, err := c.open(ctx, stderr, start)
	if err != nil {
		return err
	}
	defer a.close()
	cs, err := a.ledger.CaseByName(*caseName)
	if errors.Is(err, store.ErrNotFound) && start {
		// Adding IOCs before any evidence is normal: hunt from the start.
		cs, err = a.ledger.CreateCase(*caseName, "")
	}
	if err != nil {
		return err
	}
	for _, src := range []struct {
		path string
		csv  bool
	}{{*add, true}, {*addText, false}} {
		if src.path == "" {
			continue
		}
		f, err := os.Open(src.path)
		if err != nil {
			return fmt.Errorf("open IOC file: %w", err)
		}
		var list []ioc.IOC
		if src.csv {
			list, err = ioc.ParseCSV(f)
		} else {
			list, err = ioc.ParseText(f)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", src.path, err)
		}
		_, job, err := a.eng.AddIOCs(cs.ID, list, src.path)
		if err != nil {
			return err
		}
		started := time.Now()
		job, err = a.eng.WaitJob(ctx, job.ID)
		if err != nil {
			return err
		}
		if job.State == "failed" {
			return fmt.Errorf("re-hunt failed: %s", job.Error)
		}
		a.log.Info("re-hunt done", "iocs", len(list), "files", job.Files, "events", job.Events, "changed", job.Changed,
			"seconds", time.Since(started).Seconds())
	}
	views, err := a.eng.IOCs(cs.ID)
	if err != nil {
		return err
	}
	if *export != "" {
		list := make([]ioc.IOC, 0, len(views))
		for _, v := range views {
			list = append(list, ioc.IOC{ID: v.Key(), Type: ioc.Type(v.Type), Value: v.Value, Enabled: v.Enabled,
				Description: v.Description, Source: v.Source})
		}
		f, err := os.Create(*export)
		if err != nil {
			return fmt.Errorf("create IOC export: %w", err)
		}
		if err := ioc.WriteCSV(f, list); err != nil {
			f.Close()
			return fmt.Errorf("write IOC export: %w", err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write IOC export: %w", err)
		}
	}
	if views == nil {
		views = []engine.IOCView{}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(views)
	}
	for _, v := range views {
		fmt.Fprintf(stdout, "%-9s %6d  %s\n", v.Type, v.Hits, v.Value)
	}
	return nil
}

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("rules", stderr, &c)
	asJSON := fs.Bool("json", false, "print JSON")
	caseName := fs.String("case", "", "also count this case's hits per pack, and say which packs it runs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rs, err := engine.LoadRules(c.ruleOptions())
	if err != nil {
		return err
	}
	// Per pack: rules loaded and skipped, whether a case runs it by
	// default, and with --case whether that case runs it and its hits
	// (events and rules).
	type packCount struct {
		sigma.PackInfo
		Loaded  int   `json:"loaded"`
		Skipped int   `json:"skipped"`
		Enabled *bool `json:"enabled,omitempty"`
		Hits    *int  `json:"hits,omitempty"`
		Rules   *int  `json:"rules_hit,omitempty"`
	}
	packs := map[string]*packCount{}
	for _, p := range sigma.Packs() {
		packs[p.Name] = &packCount{PackInfo: p}
	}
	for _, r := range rs.Rules() {
		if p := packs[r.Pack]; p != nil {
			p.Loaded++
		}
	}
	for _, s := range rs.Skipped() {
		if p := packs[s.Pack]; p != nil {
			p.Skipped++
		}
	}
	if *caseName != "" {
		a, cs, err := c.openCase(ctx, stderr, *caseName)
		if err != nil {
			return err
		}
		a.eng.Detection().SetRules(rs)
		sum, err := a.eng.SigmaSummary(cs.ID)
		if err == nil {
			var rp engine.RulePacks
			rp, err = a.eng.CaseRulePacks(cs.ID)
			for _, ch := range rp.Packs {
				if p := packs[ch.Name]; p != nil {
					on, hits, rules := ch.Enabled, 0, 0
					p.Enabled, p.Hits, p.Rules = &on, &hits, &rules
				}
			}
			for _, r := range sum {
				if p := packs[r.Pack]; p != nil && p.Hits != nil {
					*p.Hits += r.Count
					*p.Rules++
				}
			}
		}
		a.close()
		if err != nil {
			return err
		}
	}
	// Coverage per logsource ("windows/process_creation", "webserver"):
	// how many of its rules run and how many are skipped.
	type cover struct {
		Loaded  int `json:"loaded"`
		Skipped int `json:"skipped"`
	}
	coverage := map[string]*cover{}
	at := func(ls string) *cover {
		if ls == "" {
			ls = "(unknown)"
		}
		c, ok := coverage[ls]
		if !ok {
			c = &cover{}
			coverage[ls] = c
		}
		return c
	}
	for _, r := range rs.Rules() {
		at(r.Logsource).Loaded++
	}
	for _, s := range rs.Skipped() {
		at(s.Logsource).Skipped++
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"loaded": rs.Rules(), "skipped": rs.Skipped(), "loaded_count": rs.Len(), "skipped_count": len(rs.Skipped()),
			"coverage": coverage, "packs": packs,
		})
	}
	fmt.Fprintf(stdout, "%d rules loaded, %d skipped\n", rs.Len(), len(rs.Skipped()))
	for _, pi := range sigma.Packs() {
		p := packs[pi.Name]
		fmt.Fprintf(stdout, "pack %-17s %5d loaded %4d skipped  default %v\n", p.Name, p.Loaded, p.Skipped, p.Default)
	}
	for _, s := range rs.Skipped() {
		fmt.Fprintf(stdout, "skipped %s: %s\n", s.Path, s.Reason)
	}
	return nil
}

func cmdDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("doctor", stderr, &c)
	caseName := fs.String("case", "", "check only this case (env CASESCOPE_CASE)")
	fix := fs.Bool("fix", false, "repair what is found, process the resulting work, and check again")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, stderr, false)
	if err != nil {
		return err
	}
	defer a.close()
	opts := engine.DoctorOptions{}
	if *caseName != "" {
		cs, err := a.ledger.CaseByName(*caseName)
		if err != nil {
			return err
		}
		opts.CaseID = cs.ID
	}
	started := time.Now()
	problems, err := a.eng.Doctor(ctx, opts)
	if err != nil {
		return err
	}
	if problems == nil {
		problems = []engine.Problem{}
	}
	report := map[string]any{"problems": problems, "fixed": false}
	if *fix && len(problems) > 0 {
		opts.Fix = true
		if _, err := a.eng.Doctor(ctx, opts); err != nil {
			return err
		}
		if err := a.loadDetection(&c); err != nil {
			return err
		}
		if err := a.eng.Start(ctx); err != nil {
			return err
		}
		if err := a.eng.WaitIdle(ctx); err != nil {
			return err
		}
		opts.Fix = false
		after, err := a.eng.Doctor(ctx, opts)
		if err != nil {
			return err
		}
		if after == nil {
			after = []engine.Problem{}
		}
		report["fixed"] = true
		report["remaining"] = after
		problems = after
	}
	report["seconds"] = time.Since(started).Seconds()
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(report); err != nil {
			return err
		}
	} else {
		for _, p := range report["problems"].([]engine.Problem) {
			fmt.Fprintf(stdout, "[%s] %s: %s — fix: %s\n", p.Case, p.Kind, p.Detail, p.Fix)
		}
		if *fix {
			fmt.Fprintf(stdout, "after --fix: %d problem(s) remain\n", len(problems))
		}
	}
	if len(problems) > 0 {
		return exitCode(1)
	}
	return nil
}

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("export", stderr, &c)
	caseName := fs.String("case", "", "case name (env CASESCOPE_CASE)")
	format := fs.String("format", "csv", "csv (Timeline Explorer), jsonl (Timesketch), sigma-csv (Hayabusa-style hits) or report (HTML summary)")
	query := fs.String("query", "", "only events matching this query")
	tagged := fs.Bool("tagged", false, "only starred/tagged events (the timeline)")
	out := fs.String("out", "", "output file (- for standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("usage: casescope export --case NAME --format csv|jsonl|sigma-csv|report [--query Q] [--tagged] --out FILE")
	}
	a, cs, err := c.openCase(ctx, stderr, *caseName)
	if err != nil {
		return err
	}
	defer a.close()
	var w io.Writer = stdout
	var f *os.File
	if *out != "-" {
		// Write to a temporary name and rename, so a failed export never
		// leaves a truncated file under the requested name.
		f, err = os.CreateTemp(filepath.Dir(*out), ".export-*")
		if err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		defer os.Remove(f.Name())
		w = f
	}
	var n uint64
	if *format == "report" {
		err = a.eng.Report(ctx, cs.ID, w)
	} else {
		prog := progressFunc(stderr)
		n, err = a.eng.Export(ctx, cs.ID, engine.ExportRequest{Format: *format, Query: *query, Tagged: *tagged, Progress: prog}, w)
		if prog != nil {
			fmt.Fprintln(stderr)
		}
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), *out)
		}
	}
	if err != nil {
		return err
	}
	if *format != "report" {
		fmt.Fprintf(stderr, "%d rows written\n", n)
	}
	return nil
}

// progressFunc returns a progress printer when stderr is a terminal.
func progressFunc(stderr io.Writer) func(done, total uint64) {
	f, ok := isTerminal(stderr)
	if !ok {
		return nil
	}
	start := time.Now()
	return func(done, total uint64) {
		pct := 100.0
		if total > 0 {
			pct = float64(done) * 100 / float64(total)
		}
		fmt.Fprintf(f, "\r%d/%d events (%.0f%%) %s   ", done, total, pct, time.Since(start).Round(time.Second))
	}
}

// serveInfo is written by serve into the data directory so local commands
// can reach the running server (the ledger is locked while it runs).
type serveInfo struct {
	Addr  string `json:"addr"`
	PID   int    `json:"pid"`
	Token string `json:"token"` // local API token; the file is mode 0600
}

func serveInfoPath(data string) string { return filepath.Join(data, "serve.json") }

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("status", stderr, &c)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := c.localStatus(ctx, stderr)
	if errors.Is(err, store.ErrLocked) {
		st, err = c.remoteStatus(ctx)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(st)
	}
	fmt.Fprintf(stdout, "budget %d MiB, heap %d MiB, RSS %d MiB, available %d MiB\nworkers %d/%d, waiting %d, throttled %v, queued %d, pending %d\n",
		st.MemoryBudget>>20, st.HeapInuse>>20, st.RSS>>20, st.SystemAvailable>>20, st.ActiveWorkers, st.MaxWorkers,
		st.WaitingFiles, st.Throttled, st.QueuedFiles, st.PendingFiles)
	fmt.Fprintf(stdout, "disk %d MiB free, reserve %d MiB\n", st.DiskFreeBytes>>20, st.DiskReserveBytes>>20)
	if p := st.Paused; p != nil {
		fmt.Fprintf(stdout, "PAUSED since %s: %s\n", p.Since.Format(time.RFC3339), p.Reason)
	}
	return nil
}

func (c *common) localStatus(ctx context.Context, stderr io.Writer) (engine.Status, error) {
	a, err := c.open(ctx, stderr, false)
	if err != nil {
		return engine.Status{}, err
	}
	defer a.close()
	return a.eng.Status()
}

func (c *common) remoteStatus(ctx context.Context) (engine.Status, error) {
	var st engine.Status
	data, err := filepath.Abs(c.data)
	if err != nil {
		return st, err
	}
	raw, err := os.ReadFile(serveInfoPath(data))
	if err != nil {
		return st, fmt.Errorf("the ledger is locked by another process, and no running server is recorded: %w", err)
	}
	var si serveFile
	if err := json.Unmarshal(raw, &si); err != nil {
		return st, fmt.Errorf("read %s: %w", serveInfoPath(data), err)
	}
	base := si.URL
	if base == "" {
		base = "http://" + si.Addr
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/system", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+si.Token)
	client := &http.Client{Timeout: 10 * time.Second}
	if si.CertSHA256 != "" {
		// A self-signed certificate: trust exactly the one serve recorded.
		want := strings.ToLower(si.CertSHA256)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // replaced by the pin below
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 {
					return errors.New("server sent no certificate")
				}
				sum := sha256.Sum256(raw[0])
				if hex.EncodeToString(sum[:]) != want {
					return errors.New("server certificate does not match serve.json's fingerprint")
				}
				return nil
			},
		}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return st, fmt.Errorf("ask the running server (pid %d): %w", si.PID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("running server answered %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decode status: %w", err)
	}
	return st, nil
}
