package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"casescope/engine/triage"
)

// triageCommand runs one triage view of a case: flags --case and --json,
// then prints view's result as JSON or as text lines.
func triageCommand[T any](ctx context.Context, name string, args []string, stdout, stderr io.Writer,
	view func(a *app, ctx context.Context, caseID uint64) (T, error), text func(w io.Writer, v T)) error {
	var c common
	fs := newFlags(name, stderr, &c)
	caseName := fs.String("case", "", "case name (env CASESCOPE_CASE)")
	asJSON := fs.Bool("json", false, "print JSON")
	csvTable := ""
	if name == "metrics" {
		fs.StringVar(&csvTable, "csv", "", "print one table as CSV: "+strings.Join(triage.Tables, ", "))
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, cs, err := c.openCase(ctx, stderr, *caseName)
	if err != nil {
		return err
	}
	defer a.close()
	v, err := view(a, ctx, cs.ID)
	if err != nil {
		return err
	}
	if csvTable != "" {
		if m, ok := any(v).(triage.Metrics); ok {
			return m.WriteCSV(stdout, csvTable)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(v)
	}
	text(stdout, v)
	return nil
}

func cmdHosts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return triageCommand(ctx, "hosts", args, stdout, stderr,
		func(a *app, ctx context.Context, id uint64) ([]triage.Host, error) { return a.eng.Hosts(ctx, id) },
		func(w io.Writer, hs []triage.Host) {
			for _, h := range hs {
				fmt.Fprintf(w, "%8d  %s  %s  %s\n", h.Events, h.First.Format("2006-01-02T15:04:05Z"), h.Last.Format("2006-01-02T15:04:05Z"), h.Computer)
			}
		})
}

func cmdAccounts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return triageCommand(ctx, "accounts", args, stdout, stderr,
		func(a *app, ctx context.Context, id uint64) ([]triage.Account, error) { return a.eng.Accounts(ctx, id) },
		func(w io.Writer, as []triage.Account) {
			for _, r := range as {
				fmt.Fprintf(w, "%8d  %s\\%s  %s\n", r.Events, r.Domain, r.Account, r.SID)
			}
		})
}

func cmdLogons(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return triageCommand(ctx, "logons", args, stdout, stderr,
		func(a *app, ctx context.Context, id uint64) ([]triage.Logon, error) { return a.eng.Logons(ctx, id) },
		func(w io.Writer, ls []triage.Logon) {
			for _, l := range ls {
				lt := "-"
				if l.LogonType != nil {
					lt = fmt.Sprint(*l.LogonType)
				}
				fmt.Fprintf(w, "%6d  %d %-7s %-10s type %-2s %s\\%s from %s %s\n", l.Count, l.EventID, l.Result, l.Computer, lt,
					l.Domain, l.Account, l.SourceComputer, l.SourceIP)
			}
		})
}

func cmdMetrics(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return triageCommand(ctx, "metrics", args, stdout, stderr,
		func(a *app, ctx context.Context, id uint64) (triage.Metrics, error) { return a.eng.Metrics(ctx, id) },
		func(w io.Writer, m triage.Metrics) {
			fmt.Fprintf(w, "%d events\n", m.Total)
			for _, r := range m.ByEvent {
				fmt.Fprintf(w, "%8d %6.2f%%  %5d  %s\n", r.Count, r.Percent, r.EventID, r.Channel)
			}
		})
}
