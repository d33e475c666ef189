// Command casescope turns piles of Windows event logs into a searchable,
// Sigma-scored, IOC-hunted case timeline. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"casescope/engine"
	"casescope/engine/admit"
	"casescope/evtx"
	"casescope/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ec exitCode
		if errors.As(err, &ec) {
			os.Exit(int(ec))
		}
		fmt.Fprintln(os.Stderr, "casescope:", err)
		os.Exit(1)
	}
}

// exitCode ends the program with a code and no further message.
type exitCode int

func (e exitCode) Error() string { return "exit " + strconv.Itoa(int(e)) }

const usage = `casescope — Windows event log triage

Usage:
  casescope serve   [--addr 127.0.0.1:8080]            web UI and API
  casescope ingest  --case NAME [--json] PATH...         import and process files, folders, ZIPs
  casescope files   --case NAME --json                   list a case's files
  casescope search  --case NAME [--limit N] --json QUERY search events
  casescope cases   [--json]                             list cases
  casescope hits    --case NAME --json                   Sigma hits by rule
  casescope iocs    --case NAME [--add FILE] --json      list IOCs with hits; add a CSV and re-hunt
  casescope hosts   --case NAME --json                   computers: events, first/last, channels, hits
  casescope accounts --case NAME --json                  accounts: where they appear, logons by type
  casescope logons  --case NAME --json                   logon summary (4624/4625/4648, RDP)
  casescope metrics --case NAME [--json|--csv TABLE]     event counts by ID, channel, computer, file, time
  casescope rules   [--rules DIR] [--case NAME] --json   loaded and skipped Sigma rules, per pack
  casescope doctor  [--case NAME] [--fix] [--json]       check ledger, disk and index agree; repair
  casescope status  [--json]                             memory budget, workers, queue (asks a running server)
  casescope export  --case NAME --format csv|jsonl|sigma-csv|report [--query Q] [--tagged] --out FILE
  casescope user    add|passwd|list|disable|enable ...   accounts (roles: admin, analyst, read-only)
  casescope case    export --case NAME --out FILE | import FILE [--as NAME] | delete --case NAME | packs --case NAME [--set P,P]
  casescope version

Every command takes --data DIR (env CASESCOPE_DATA, default ./casescope-data) and
--store embedded|clickhouse://HOST:HTTP_PORT/DATABASE?cluster=NAME (env CASESCOPE_STORE),
the event store of new cases (a case keeps the one it was created with).
Run "casescope COMMAND -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitCode(2)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "ingest":
		return cmdIngest(ctx, rest, stdout, stderr)
	case "files":
		return cmdFiles(ctx, rest, stdout, stderr)
	case "search":
		return cmdSearch(ctx, rest, stdout, stderr)
	case "case":
		return cmdCase(ctx, rest, stdout, stderr)
	case "cases":
		return cmdCases(ctx, rest, stdout, stderr)
	case "iocs":
		return cmdIOCs(ctx, rest, stdout, stderr)
	case "hits":
		return cmdHits(ctx, rest, stdout, stderr)
	case "hosts":
		return cmdHosts(ctx, rest, stdout, stderr)
	case "accounts":
		return cmdAccounts(ctx, rest, stdout, stderr)
	case "logons":
		return cmdLogons(ctx, rest, stdout, stderr)
	case "metrics":
		return cmdMetrics(ctx, rest, stdout, stderr)
	case "rules":
		return cmdRules(ctx, rest, stdout, stderr)
	case "doctor":
		return cmdDoctor(ctx, rest, stdout, stderr)
	case "export":
		return cmdExport(ctx, rest, stdout, stderr)
	case "status":
		return cmdStatus(ctx, rest, stdout, stderr)
	case "user":
		return cmdUser(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "casescope %s (%s)\n", version, runtime.Version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return exitCode(2)
}

// common holds the settings every command shares.
type common struct {
	data        string
	logLevel    string
	logFormat   string
	workers     int
	batch       int
	fileTimeout time.Duration
	memBudget   string
	diskReserve string
	zipEntries  int
	codePage    int
	rulesDir    string
	noBuiltin   bool
	minLevel    string
	statuses    string
	store       string
}

func newFlags(name string, stderr io.Writer, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.data, "data", "./casescope-data", "data directory (env CASESCOPE_DATA)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error (env CASESCOPE_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", "text", "text or json (env CASESCOPE_LOG_FORMAT)")
	fs.IntVar(&c.workers, "workers", runtime.NumCPU(), "maximum files processed at once, at most the core count (env CASESCOPE_WORKERS)")
	fs.IntVar(&c.batch, "batch", 500, "events per index batch (env CASESCOPE_BATCH)")
	fs.DurationVar(&c.fileTimeout, "file-timeout", 2*time.Hour, "a file taking longer fails (env CASESCOPE_FILE_TIMEOUT)")
	fs.StringVar(&c.diskReserve, "disk-reserve", "256MiB", "disk space kept free on the data directory's filesystem; intake pauses before going below it (env CASESCOPE_DISK_RESERVE)")
	fs.IntVar(&c.zipEntries, "zip-max-entries", 10000, "an archive with more entries is refused as one failed record (env CASESCOPE_ZIP_MAX_ENTRIES)")
	fs.IntVar(&c.codePage, "codepage", 1252, "Windows code page of EVTX AnsiString values, e.g. 1251 for Cyrillic systems (env CASESCOPE_CODEPAGE)")
	fs.StringVar(&c.memBudget, "memory-budget", "", "memory for files in flight, e.g. 512MiB or 2G (env CASESCOPE_MEMORY_BUDGET; default: from available memory and the cgroup limit)")
	fs.StringVar(&c.rulesDir, "rules", "", "extra Sigma rules directory; adds to or replaces embedded rules by id (env CASESCOPE_RULES)")
	fs.BoolVar(&c.noBuiltin, "no-builtin-rules", false, "do not load the embedded SigmaHQ rules (env CASESCOPE_NO_BUILTIN_RULES)")
	fs.StringVar(&c.minLevel, "sigma-min-level", "", "skip Sigma rules below this level: informational, low, medium, high, critical (env CASESCOPE_SIGMA_MIN_LEVEL)")
	fs.StringVar(&c.store, "store", store.StoreEmbedded, "event store of new cases: embedded, or clickhouse://HOST:HTTP_PORT/DATABASE?cluster=NAME (env CASESCOPE_STORE); a case keeps the store it was created with")
	fs.StringVar(&c.statuses, "sigma-status", "", "comma-separated rule statuses to load, e.g. stable,test (env CASESCOPE_SIGMA_STATUS; default all)")
	return fs
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment twin CASESCOPE_<NAME>: flag beats env beats
// default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitCode(0)
		}
		return exitCode(2)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "CASESCOPE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, serr)
			}
		}
	})
	return err
}

func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", c.logFormat)
}

// app is the wired program: ledger, engine, detection.
type app struct {
	ledger *store.Ledger
	eng    *engine.Engine
	log    *slog.Logger
}

func (c *common) open(ctx context.Context, stderr io.Writer, start bool) (*app, error) {
	log, err := c.logger(stderr)
	if err != nil {
		return nil, err
	}
	if c.batch < 1 || c.batch > 100000 {
		return nil, fmt.Errorf("--batch must be between 1 and 100000")
	}
	data, err := filepath.Abs(c.data)
	if err != nil {
		return nil, fmt.Errorf("--data: %w", err)
	}
	if err := os.MkdirAll(data, 0o750); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		return nil, err
	}
	cfg := engine.Config{
		DataDir: data, Workers: c.workers, BatchSize: c.batch, FileTimeout: c.fileTimeout,
		FaultPoint: os.Getenv("CASESCOPE_FAULT_POINT"), MaxZipEntries: c.zipEntries,
		CodePage: c.codePage,
	}
	if cfg.Store, err = store.ParseStoreURL(c.store); err != nil {
		led.Close()
		return nil, fmt.Errorf("--store: %w", err)
	}
	if !evtx.CodePageSupported(c.codePage) {
		led.Close()
		return nil, fmt.Errorf("--codepage %d: not a supported Windows code page (1250–1258, 874, 437, 850, 852, 866, 28591–28605, …)", c.codePage)
	}
	if c.zipEntries < 1 {
		led.Close()
		return nil, fmt.Errorf("--zip-max-entries must be at least 1")
	}
	reserve, err := admit.ParseSize(c.diskReserve)
	if err != nil || reserve == 0 {
		led.Close()
		return nil, fmt.Errorf("--disk-reserve %q: want a size above 0, e.g. 256MiB", c.diskReserve)
	}
	cfg.DiskReserve = reserve
	budget, err := c.budget()
	if err != nil {
		led.Close()
		return nil, err
	}
	cfg.MemoryBudget = budget.Bytes
	// The engine is GC-bound on parsing: GOGC trades heap for CPU where
	// the budget allows; the memory limit bounds the heap regardless.
	gogc := admit.ApplyGCPercent(budget.Bytes)
	limit := admit.ApplyRuntimeLimit(budget.Bytes)
	log.Info("memory budget", "budget", budget.String(), "go_memory_limit", limit, "gogc", gogc)
	ctl := admit.New(admit.Config{Budget: budget.Bytes, MaxWorkers: c.workers}, admit.SystemProbe{}, log)
	eng := engine.New(cfg, log, led, ctl)
	a := &app{ledger: led, eng: eng, log: log}
	if start {
		problems, err := eng.Doctor(ctx, engine.DoctorOptions{Cheap: true})
		if err != nil {
			led.Close()
			return nil, fmt.Errorf("start-up check: %w", err)
		}
		eng.SetStartupCheck(problems)
		if len(problems) > 0 {
			log.Warn("start-up check found problems (run casescope doctor)", "problems", len(problems))
		}
		if err := a.loadDetection(c); err != nil {
			led.Close()
			return nil, err
		}
		if err := eng.Start(ctx); err != nil {
			led.Close()
			return nil, err
		}
	}
	return a, nil
}

// budget is --memory-budget when given, else derived from available
// memory and the cgroup limit.
func (c *common) budget() (admit.Budget, error) {
	if c.memBudget != "" {
		n, err := admit.ParseSize(c.memBudget)
		if err != nil {
			return admit.Budget{}, fmt.Errorf("--memory-budget: %w", err)
		}
		return admit.Budget{Bytes: n, Usable: n, Source: "--memory-budget"}, nil
	}
	b, err := admit.DefaultBudget(admit.SystemProbe{})
	if err != nil {
		return admit.Budget{}, fmt.Errorf("memory budget: %w", err)
	}
	return b, nil
}

func (c *common) ruleOptions() engine.RuleOptions {
	var statuses []string
	for _, s := range strings.Split(c.statuses, ",") {
		if s = strings.TrimSpace(s); s != "" {
			statuses = append(statuses, s)
		}
	}
	return engine.RuleOptions{Dir: c.rulesDir, NoBuiltin: c.noBuiltin, MinLevel: c.minLevel, Statuses: statuses}
}

// loadDetection compiles the Sigma rules and every case's IOCs.
func (a *app) loadDetection(c *common) error {
	start := time.Now()
	rs, err := engine.LoadRules(c.ruleOptions())
	if err != nil {
		return err
	}
	a.eng.Detection().SetRules(rs)
	a.eng.SetRuleOptions(c.ruleOptions())
	a.log.Info("sigma rules loaded", "rules", rs.Len(), "skipped", len(rs.Skipped()), "seconds", time.Since(start).Seconds())
	return a.eng.LoadIOCs()
}

// openCase opens the data directory (engine not started) and finds the
// named case; on error nothing is left open.
func (c *common) openCase(ctx context.Context, stderr io.Writer, name string) (*app, store.Case, error) {
	a, err := c.open(ctx, stderr, false)
	if err != nil {
		return nil, store.Case{}, err
	}
	cs, err := a.ledger.CaseByName(name)
	if err != nil {
		a.close()
		return nil, store.Case{}, err
	}
	return a, cs, nil
}

// isTerminal reports whether w is a character device (an interactive
// terminal), where progress lines make sense.
func isTerminal(w io.Writer) (*os.File, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return nil, false
	}
	st, err := f.Stat()
	return f, err == nil && st.Mode()&os.ModeCharDevice != 0
}

// closeWait bounds how long closing waits for running files to park: a
// signal must end the program within seconds, and a file not parked by
// then is left mid-work, which the next start requeues.
const closeWait = 3 * time.Second

func (a *app) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	err := a.eng.Close(ctx)
	return errors.Join(err, a.ledger.Close())
}

func cmdIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("ingest", stderr, &c)
	caseName := fs.String("case", "", "case name; created if needed (env CASESCOPE_CASE)")
	asJSON := fs.Bool("json", false, "print one JSON summary object at the end")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *caseName == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: casescope ingest --case NAME [--json] PATH...")
	}
	// Files an earlier, interrupted run left unfinished resume when the
	// engine starts; those this run finishes count in its summary.
	began := time.Now().UTC()
	a, err := c.open(ctx, stderr, true)
	if err != nil {
		return err
	}
	defer a.close()
	cs, err := a.ledger.CaseByName(*caseName)
	if errors.Is(err, store.ErrNotFound) {
		cs, err = a.ledger.CreateCase(*caseName, "")
	}
	if err == nil {
		err = cs.CheckWritable()
	}
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := a.eng.Import(ctx, cs.ID, fs.Args())
	var short *engine.StorageError
	if err != nil && !errors.As(err, &short) {
		return stopped(a, err)
	}
	// Short of disk space for the rest: what was imported still runs.
	importErr := err
	stopBar := startProgress(ctx, a, res, stderr, start)
	stopAnon := watchAnon()
	err = a.eng.WaitIdle(ctx)
	// The case is left ready to search: its index's columns are built
	// now, not on the analyst's first searches.
	var prepared time.Duration
	if err == nil {
		t := time.Now()
		if perr := a.eng.PrepareSearch(ctx, cs.ID); perr != nil && ctx.Err() == nil {
			a.log.Warn("prepare the case for searching (searches build it as they go)", "err", perr)
		}
		prepared = time.Since(t)
	}
	peakAnon := stopAnon()
	stopBar()
	if err == nil {
		err = importErr
	}
	if err != nil {
		return stopped(a, err)
	}
	sum, err := summarize(a.ledger, cs.ID, res, began)
	if err != nil {
		return err
	}
	sum.Seconds = time.Since(start).Seconds()
	sum.PeakRSS = peakRSS()
	sum.PeakAnon = peakAnon
	sum.Stages = a.eng.Stages()
	sum.FirstSearchable = a.eng.FirstSearchable().Seconds()
	sum.PrepareSearch = prepared.Seconds()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(sum)
	}
	fmt.Fprintf(stdout, "%d files: %d completed (%d zero-event), %d failed, %d duplicates; %d events in %.1fs\n",
		sum.Files, sum.Completed, sum.ZeroEvent, sum.Failed, sum.Duplicates, sum.Events, sum.Seconds)
	if sum.AlreadyRecorded > 0 || sum.Resumed > 0 {
		fmt.Fprintf(stdout, "%d already recorded from an earlier run (not copied again), %d resumed\n", sum.AlreadyRecorded, sum.Resumed)
	}
	return nil
}

// stopped explains an ingest that ended early: files with work left stay
// queued (the engine parks running ones on close), and the same command
// resumes them.
func stopped(a *app, err error) error {
	n, perr := a.eng.Pending()
	if perr != nil || n == 0 {
		return err
	}
	var hint string
	switch {
	case errors.Is(err, store.ErrUnavailable):
		hint = "run the same command to resume once the event store answers"
	case errors.Is(err, engine.ErrDiskFull):
		hint = "free disk space, then run the same command to resume"
	case errors.Is(err, engine.ErrWriteFailed):
		hint = "fix the data directory's disk, then run the same command to resume"
	case errors.Is(err, context.Canceled):
		hint = "interrupted; run the same command to resume"
	default:
		return err
	}
	return fmt.Errorf("ingest stopped: %w; %d file(s) left queued (%s)", err, n, hint)
}

// ingestSummary is the JSON contract of `ingest --json`.
type ingestSummary struct {
	Files      int     `json:"files"`
	Completed  int     `json:"completed"`
	Failed     int     `json:"failed"`
	ZeroEvent  int     `json:"zero_event"`
	Duplicates int     `json:"duplicates"`
	Events     int64   `json:"events"`
	Seconds    float64 `json:"seconds"`
	PeakRSS    int64   `json:"peak_rss_bytes"`
	// Beyond the contract: CPU time per pipeline stage summed over
	// workers, and when the first events became searchable.
	Stages engine.StageSeconds `json:"stages_seconds"`
	// PeakAnon is the highest anonymous (heap, stacks) resident memory
	// sampled every 100 ms; the rest of peak_rss_bytes is file-backed
	// (the mmapped index), which the kernel reclaims under pressure.
	PeakAnon        int64   `json:"peak_anon_rss_bytes"`
	FirstSearchable float64 `json:"first_searchable_seconds"`
	// PrepareSearch is the part of seconds spent at the end building the
	// index's columns for searching (see store/cols.go).
	PrepareSearch float64 `json:"prepare_search_seconds"`
	// AlreadyRecorded counts given files the case already held from an
	// earlier run of the same import (same source path and sha256): they
	// are not recorded or copied again, and count above in their current
	// state. Resumed counts files an earlier, interrupted run left
	// unfinished that this run finished (also counted above). So a re-run
	// after a crash reports what one uninterrupted run would.
	AlreadyRecorded int `json:"already_recorded"`
	Resumed         int `json:"resumed"`
	// Warnings counts files that completed with a warning (skipped
	// chunks or records, truncation); failed files carry their reason.
	Warnings int `json:"files_with_warnings"`
}

// summarize counts the files an ingest covered: those it recorded, those
// of its paths already recorded (res.ExistingIDs), and those an earlier
// run left unfinished that finished after began.
func summarize(l *store.Ledger, caseID uint64, res engine.ImportResult, began time.Time) (ingestSummary, error) {
	files, err := l.Files(caseID)
	if err != nil {
		return ingestSummary{}, err
	}
	want := make(map[uint64]bool, len(res.FileIDs)+len(res.ExistingIDs))
	for _, id := range res.FileIDs {
		want[id] = true
	}
	existing := make(map[uint64]bool, len(res.ExistingIDs))
	for _, id := range res.ExistingIDs {
		want[id], existing[id] = true, true
	}
	s := ingestSummary{AlreadyRecorded: res.AlreadyRecorded}
	for _, f := range files {
		resumed := !f.Finished.IsZero() && !f.Finished.Before(began) && f.Created.Before(began)
		if !want[f.ID] && !resumed {
			continue
		}
		if resumed {
			s.Resumed++
		}
		s.Files++
		switch f.State {
		case store.StateCompleted:
			s.Completed++
			if f.ZeroEvents {
				s.ZeroEvent++
			}
			s.Events += f.Events
			if len(f.Warnings) > 0 {
				s.Warnings++
			}
		case store.StateFailed:
			s.Failed++
		case store.StateDuplicate:
			s.Duplicates++
		}
	}
	return s, nil
}

// peakRSS reads the process's peak resident set (VmHWM) in bytes.
func peakRSS() int64 { return int64(admit.StatusBytes("VmHWM:")) }

// watchAnon samples the process's anonymous resident memory (RssAnon)
// every 100 ms until the returned function is called, which returns the
// peak in bytes.
func watchAnon() func() int64 {
	stop, res := make(chan struct{}), make(chan int64)
	go func() {
		var peak int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if v := int64(admit.StatusBytes("RssAnon:")); v > peak {
				peak = v
			}
			select {
			case <-stop:
				res <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 { close(stop); return <-res }
}

// startProgress draws a progress line on stderr when it is a terminal.
func startProgress(ctx context.Context, a *app, res engine.ImportResult, stderr io.Writer, start time.Time) func() {
	f, ok := isTerminal(stderr)
	if !ok {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	total := len(res.FileIDs)
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				fmt.Fprintln(f)
				return
			case <-t.C:
			}
			pending, _ := a.eng.Pending()
			doneN := total - pending
			if doneN < 0 {
				doneN = 0
			}
			el := time.Since(start)
			eta := "?"
			if doneN > 0 {
				eta = (time.Duration(float64(el) / float64(doneN) * float64(pending))).Round(time.Second).String()
			}
			fmt.Fprintf(f, "\r%d/%d files  %d active  elapsed %s  ETA %s   ", doneN, total, a.eng.Active(), el.Round(time.Second), eta)
		}
	}()
	return func() { cancel(); <-done }
}

func cmdFiles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("files", stderr, &c)
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
	files, err := a.ledger.Files(cs.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		if files == nil {
			files = []store.File{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(files)
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "%-10s %8d  %s  %s\n", f.State, f.Events, f.Name, f.Error)
	}
	return nil
}

func cmdCases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("cases", stderr, &c)
	asJSON := fs.Bool("json", false, "print a JSON array")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, stderr, false)
	if err != nil {
		return err
	}
	defer a.close()
	cases, err := a.ledger.Cases()
	if err != nil {
		return err
	}
	if *asJSON {
		if cases == nil {
			cases = []store.Case{}
		}
		return json.NewEncoder(stdout).Encode(cases)
	}
	for _, cs := range cases {
		fmt.Fprintf(stdout, "%d\t%s\n", cs.ID, cs.Name)
	}
	return nil
}

func cmdSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("search", stderr, &c)
	caseName := fs.String("case", "", "case name (env CASESCOPE_CASE)")
	limit := fs.Int("limit", 50, "hits to return")
	asJSON := fs.Bool("json", false, "print JSON")
	from := fs.String("from", "", "only events at or after this time (RFC 3339)")
	to := fs.String("to", "", "only events before this time (RFC 3339)")
	sortOrder := fs.String("sort", "desc", "desc (newest first) or asc")
	cursor := fs.String("cursor", "", "continue after a previous page's next cursor")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	req := store.SearchRequest{Query: strings.Join(fs.Args(), " "), Size: *limit, Asc: *sortOrder == "asc", Cursor: *cursor}
	var err error
	if req.From, err = parseTimeFlag(*from); err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	if req.To, err = parseTimeFlag(*to); err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	a, cs, err := c.openCase(ctx, stderr, *caseName)
	if err != nil {
		return err
	}
	defer a.close()
	page, err := a.eng.Search(ctx, cs.ID, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(page)
	}
	fmt.Fprintf(stdout, "%d events\n", page.Total)
	for _, h := range page.Hits {
		if h.Event == nil {
			continue
		}
		fmt.Fprintf(stdout, "%s  %-20s %-6d %s\n", h.Event.TimeCreated.Format(time.RFC3339), h.Event.Computer, h.Event.EventID, h.Event.Channel)
	}
	return nil
}

func parseTimeFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q (use RFC 3339, e.g. 2024-05-01T10:00:00Z)", s)
}
