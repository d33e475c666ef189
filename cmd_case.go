package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"casescope/engine"
	"casescope/engine/sigma"
	"casescope/store"
)

const caseUsage = `usage:
  casescope case export --case NAME --out FILE [--json]   archive a case (evidence, records, manifest)
  casescope case import FILE [--as NAME] [--json]         restore an archive as a new case, re-indexed
  casescope case delete --case NAME                       delete a case and all its files on disk
  casescope case packs --case NAME [--set P,P] [--json]   Sigma rule packs the case runs; --set re-runs Sigma
  casescope case members --case NAME [--add USER --role owner|analyst|read-only | --remove USER] [--json]
                                                          who may see the case in the web UI and API
`

// cmdCase runs the case lifecycle subcommands: export, import, delete.
func cmdCase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, caseUsage)
		return exitCode(2)
	}
	switch args[0] {
	case "export":
		return cmdCaseExport(ctx, args[1:], stdout, stderr)
	case "import":
		return cmdCaseImport(ctx, args[1:], stdout, stderr)
	case "delete":
		return cmdCaseDelete(ctx, args[1:], stdout, stderr)
	case "packs":
		return cmdCasePacks(ctx, args[1:], stdout, stderr)
	case "members":
		return cmdCaseMembers(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown case command %q\n\n%s", args[0], caseUsage)
	return exitCode(2)
}

// cliActor names the command-line user in the manifest and audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// archiveProgress prints "label: done / total MiB" on a terminal, at most
// every 250 ms, and returns the callback and a func ending the line.
func archiveProgress(stderr io.Writer, label string) (engine.ArchiveProgress, func()) {
	f, ok := isTerminal(stderr)
	if !ok {
		return nil, func() {}
	}
	var last time.Time
	printed := false
	return func(done, total int64) {
			if time.Since(last) < 250*time.Millisecond {
				return
			}
			last, printed = time.Now(), true
			if total > 0 {
				fmt.Fprintf(f, "\r%s: %d / %d MiB (%d%%)   ", label, done>>20, total>>20, done*100/max(total, 1))
			} else {
				fmt.Fprintf(f, "\r%s: %d MiB   ", label, done>>20)
			}
		}, func() {
			if printed {
				fmt.Fprintln(f)
			}
		}
}

func cmdCaseExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("case export", stderr, &c)
	caseName := fs.String("case", "", "case name (env CASESCOPE_CASE)")
	out := fs.String("out", "", "archive file to write (a tar stream); - for stdout")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *caseName == "" || *out == "" || fs.NArg() != 0 {
		return fmt.Errorf("usage: casescope case export --case NAME --out FILE")
	}
	a, cs, err := c.openCase(ctx, stderr, *caseName)
	if err != nil {
		return err
	}
	defer a.close()
	// The identity of the rules this data directory is run with.
	if err := a.loadDetection(&c); err != nil {
		return err
	}
	var w io.Writer = stdout
	var f *os.File
	tmp := ""
	if *out != "-" {
		// Written beside the target and renamed when complete, so a
		// failed export never leaves a file that looks like an archive.
		f, err = os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".part-*")
		if err != nil {
			return fmt.Errorf("create %s: %w", *out, err)
		}
		tmp = f.Name()
		defer os.Remove(tmp)
		defer f.Close()
		w = f
	}
	progress, endLine := archiveProgress(stderr, "export")
	start := time.Now()
	m, err := a.eng.ExportCase(ctx, cs.ID, w, engine.ExportOptions{User: cliActor(), Version: version, Progress: progress})
	endLine()
	if err == nil && f != nil {
		if err = f.Sync(); err == nil {
			if err = f.Close(); err == nil {
				err = os.Rename(tmp, *out)
			}
		}
	}
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	if aerr := a.ledger.Audit(store.AuditEntry{Actor: cliActor(), Action: "case.export", Target: caseTarget(cs), Outcome: outcome,
		Detail: "to " + *out}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(m)
	}
	if *out != "-" {
		fmt.Fprintf(stdout, "exported case %s: %d files, %d events, %d members to %s in %.1fs\n", cs.Name, m.Files, m.Events, len(m.Members), *out, time.Since(start).Seconds())
	}
	return nil
}

func cmdCaseImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("case import", stderr, &c)
	as := fs.String("as", "", "name for the imported case (default: the archive's); needed when that name is taken")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	// The archive path may come before the flags.
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() != 0 || file == "" {
		return fmt.Errorf("usage: casescope case import FILE [--as NAME]")
	}
	in, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("open archive: %w", err)
	}
	defer in.Close()
	var size int64
	if st, err := in.Stat(); err == nil {
		size = st.Size()
	}
	a, err := c.open(ctx, stderr, true)
	if err != nil {
		return err
	}
	defer a.close()
	progress, endLine := archiveProgress(stderr, "import")
	start := time.Now()
	res, err := a.eng.ImportCase(ctx, in, engine.ImportOptions{As: *as, Size: size, Progress: progress})
	endLine()
	entry := store.AuditEntry{Actor: cliActor(), Action: "case.import", Target: "archive " + file, Outcome: "ok"}
	if err != nil {
		entry.Outcome, entry.Detail = "failed", err.Error()
		_ = a.ledger.Audit(entry)
		if errors.Is(err, store.ErrExists) {
			return err
		}
		return fmt.Errorf("archive refused, nothing imported: %w", err)
	}
	entry.Target = caseTarget(res.Case)
	entry.Detail = fmt.Sprintf("from %s, exported by %s at %s with casescope %s", file, res.Manifest.ExportedBy,
		res.Manifest.ExportedAt.Format(time.RFC3339), res.Manifest.Version)
	if err := a.ledger.Audit(entry); err != nil {
		return err
	}
	if res.RulesDiffer {
		fmt.Fprintln(stderr, "warning: this casescope's Sigma rules differ from the exporter's; re-indexing recomputes hits with the rules here")
	}
	// Re-index from the evidence before returning, as ingest does.
	if err := a.eng.WaitIdle(ctx); err != nil {
		return stopped(a, err)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "imported case %s: %d files (%d re-indexed) in %.1fs; exported by %s at %s\n", res.Case.Name, res.Files,
		res.Reindexing, time.Since(start).Seconds(), res.Manifest.ExportedBy, res.Manifest.ExportedAt.Format(time.RFC3339))
	return nil
}

func cmdCaseDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("case delete", stderr, &c)
	caseName := fs.String("case", "", "case name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *caseName == "" || fs.NArg() != 0 {
		return fmt.Errorf("usage: casescope case delete --case NAME")
	}
	a, cs, err := c.openCase(ctx, stderr, *caseName)
	if err != nil {
		return err
	}
	defer a.close()
	if _, err := a.eng.DeleteCase(ctx, cs.ID); err != nil {
		return err
	}
	if err := a.ledger.Audit(store.AuditEntry{Actor: cliActor(), Action: "case.delete", Target: caseTarget(cs), Outcome: "ok"}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "deleted case %s\n", cs.Name)
	return nil
}

// cmdCaseMembers lists a case's members, or adds, changes or removes
// one (audited). The command line acts as the machine's administrator:
// it opens the ledger itself, so whoever runs it on the data directory
// already holds every case; membership governs the web UI and API.
func cmdCaseMembers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("case members", stderr, &c)
	caseName := fs.String("case", "", "case name")
	add := fs.String("add", "", "user to add, or whose membership changes")
	role := fs.String("role", store.MemberAnalyst, "membership role with --add: owner, analyst or read-only")
	remove := fs.String("remove", "", "user whose membership ends")
	asJSON := fs.Bool("json", false, "print the members as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *caseName == "" || fs.NArg() != 0 || (*add != "" && *remove != "") {
		return fmt.Errorf("usage: casescope case members --case NAME [--add USER --role ROLE | --remove USER] [--json]")
	}
	a, cs, err := c.openCase(ctx, stderr, *caseName)
	if err != nil {
		return err
	}
	defer a.close()
	switch {
	case *add != "":
		if _, err := a.ledger.SetMember(cs.ID, *add, *role, cliActor()); err != nil {
			return err
		}
		if err := a.ledger.Audit(store.AuditEntry{Actor: cliActor(), Role: store.RoleAdmin, Remote: "local", Action: "case.member.set",
			Target: caseTarget(cs), Outcome: "ok", Detail: "member " + *add + " role " + *role}); err != nil {
			return err
		}
	case *remove != "":
		if err := a.ledger.RemoveMember(cs.ID, *remove); err != nil {
			return err
		}
		if err := a.ledger.Audit(store.AuditEntry{Actor: cliActor(), Role: store.RoleAdmin, Remote: "local", Action: "case.member.remove",
			Target: caseTarget(cs), Outcome: "ok", Detail: "member " + *remove + " removed"}); err != nil {
			return err
		}
	}
	ms, err := a.ledger.Members(cs.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		if ms == nil {
			ms = []store.Member{}
		}
		return json.NewEncoder(stdout).Encode(ms)
	}
	if len(ms) == 0 {
		fmt.Fprintf(stdout, "case %s has no members: only admins see it\n", cs.Name)
	}
	for _, m := range ms {
		fmt.Fprintf(stdout, "%-24s %s\n", m.User, m.Role)
	}
	return nil
}

// caseTarget names a case in the audit log as the web layer does, so the
// case's entries travel with its archive.
func caseTarget(c store.Case) string {
	return fmt.Sprintf("case %d (%s)", c.ID, c.Name)
}

// cmdCasePacks shows, or with --set chooses, the Sigma rule packs a case
// runs; a change re-runs Sigma over the case and waits for it.
func cmdCasePacks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("case packs", stderr, &c)
	caseName := fs.String("case", "", "case name (env CASESCOPE_CASE)")
	set := fs.String("set", "", "comma-separated packs to run: core, emerging-threats, threat-hunting (custom rules always run); \"default\" for the defaults")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := c.open(ctx, stderr, *set != "")
	if err != nil {
		return err
	}
	defer a.close()
	cs, err := a.ledger.CaseByName(*caseName)
	if err != nil {
		return err
	}
	if *set != "" {
		names := []string{}
		if strings.TrimSpace(*set) == "default" {
			names = nil
		} else {
			for _, n := range strings.Split(*set, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
		}
		var job engine.Job
		if names == nil {
			for _, p := range sigma.Packs() {
				if p.Optional && p.Default {
					names = append(names, p.Name)
				}
			}
		}
		if _, job, err = a.eng.SetRulePacks(cs.ID, names); err != nil {
			return err
		}
		if job.ID != 0 {
			started := time.Now()
			if job, err = a.eng.WaitJob(ctx, job.ID); err != nil {
				return err
			}
			if job.State == "failed" {
				return fmt.Errorf("sigma re-run failed: %s", job.Error)
			}
			a.log.Info("sigma re-run done", "files", job.Files, "events", job.Events, "changed", job.Changed,
				"seconds", time.Since(started).Seconds())
		}
	}
	rp, err := a.eng.CaseRulePacks(cs.ID)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rp)
	}
	for _, p := range rp.Packs {
		on := "off"
		if p.Enabled {
			on = "on"
		}
		fmt.Fprintf(stdout, "%-17s %-3s %5d rules\n", p.Name, on, p.Rules)
	}
	return nil
}
