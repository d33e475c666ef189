package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"casescope/engine/triage"
	"casescope/evtx"
	"casescope/store"
)

// Triage views (hosts, accounts, logons, metrics) are computed from
// per-file summaries (triage.Summary): each completed file is read once,
// its summary kept under the case's triage/ folder keyed by the file's
// content, the summary version and the code page, and a view merges the
// summaries of the case's current files. Re-processing a file (same
// content) reuses its summary; a deleted file's summary is simply not
// read again. The pipeline keeps each file's summary as the file
// completes (built from the events it indexes); a file without one (an
// older ingest, or a summary version change) is read once, on as many
// goroutines as the engine has workers.

// triageFile is one file's summary.
type triageFile struct {
	file store.File
	sum  *triage.Summary
}

// triageCache is the stored form of a file's summary.
type triageCache struct {
	Key     string
	Summary *triage.Summary
}

func (e *Engine) triageKey(f store.File) string {
	return fmt.Sprintf("v%d cp%d %s %d", triage.Version, e.cfg.CodePage, f.SHA256, f.Events)
}

func (e *Engine) triagePath(caseID, fileID uint64) string {
	return filepath.Join(e.caseDirs(caseID).root, "triage", strconv.FormatUint(fileID, 10)+".gob")
}

// fileTriage returns one file's summary, from its kept copy when that is
// current, else by reading the file (and keeping the result).
func (e *Engine) fileTriage(ctx context.Context, f store.File) (*triage.Summary, error) {
	key := e.triageKey(f)
	if raw, err := os.ReadFile(e.triagePath(f.CaseID, f.ID)); err == nil {
		var c triageCache
		if gob.NewDecoder(bytes.NewReader(raw)).Decode(&c) == nil && c.Key == key && c.Summary != nil {
			return c.Summary, nil
		}
	}
	sum := triage.New()
	if _, err := e.streamFile(ctx, f.Path, func(ev *evtx.Event) error {
		sum.Add(ev)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("summarise %s: %w", f.Name, err)
	}
	e.keepTriage(f, sum)
	return sum, nil
}

// keepTriage stores a file's summary for the views. The pipeline keeps
// each file's summary as it completes, so views after an ingest read no
// evidence. Keeping it is an optimisation: failing to write it costs the
// next view a re-read, nothing else.
func (e *Engine) keepTriage(f store.File, sum *triage.Summary) {
	if sum == nil {
		return
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(triageCache{Key: e.triageKey(f), Summary: sum}); err != nil {
		e.log.Warn("encode triage summary", "file", f.Name, "err", err)
		return
	}
	if err := writeFileAtomic(e.triagePath(f.CaseID, f.ID), buf.Bytes()); err != nil {
		e.log.Warn("keep triage summary", "file", f.Name, "err", err)
	}
}

// writeFileAtomic writes data to path through a temporary file and a
// rename, so a reader never sees half a summary.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("create triage dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("create triage summary: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write triage summary: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write triage summary: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("keep triage summary: %w", err)
	}
	return nil
}

// caseTriage returns the summaries of the case's completed files with
// events, in ledger order, and their merge.
func (e *Engine) caseTriage(ctx context.Context, caseID uint64) (*triage.Summary, []triageFile, error) {
	if _, err := e.ledger.Case(caseID); err != nil {
		return nil, nil, err
	}
	files, err := e.ledger.Files(caseID)
	if err != nil {
		return nil, nil, err
	}
	var todo []triageFile
	for _, f := range files {
		if f.State == store.StateCompleted && f.Events > 0 {
			todo = append(todo, triageFile{file: f})
		}
	}
	workers := max(1, min(e.cfg.Workers, len(todo)))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				sum, err := e.fileTriage(ctx, todo[i].file)
				if err != nil {
					cancel(err)
					continue
				}
				todo[i].sum = sum
			}
		}()
	}
feed:
	for i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, nil, err
	}
	all := triage.New()
	for _, t := range todo {
		all.Merge(t.sum)
	}
	return all, todo, nil
}

// Hosts lists the computers of a case with their events, channels, Sigma
// hits by level and IOC hits, most events first.
func (e *Engine) Hosts(ctx context.Context, caseID uint64) ([]triage.Host, error) {
	all, _, err := e.caseTriage(ctx, caseID)
	if err != nil {
		return nil, err
	}
	hosts := all.HostList()
	pos := make(map[string]int, len(hosts))
	for i, h := range hosts {
		pos[h.Computer] = i
	}
	err = e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		i, ok := pos[h.Computer]
		if !ok {
			return nil
		}
		levels := map[string]bool{}
		for _, s := range h.Sigma {
			levels[strings.ToLower(s.Level)] = true
		}
		for l := range levels {
			hosts[i].Sigma[l]++
		}
		if len(h.IOCs) > 0 {
			hosts[i].IOCHits++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return hosts, nil
}

// Accounts lists the accounts named in a case's events, most events first.
func (e *Engine) Accounts(ctx context.Context, caseID uint64) ([]triage.Account, error) {
	all, _, err := e.caseTriage(ctx, caseID)
	if err != nil {
		return nil, err
	}
	return all.AccountList(), nil
}

// Logons is a case's logon summary, most events first.
func (e *Engine) Logons(ctx context.Context, caseID uint64) ([]triage.Logon, error) {
	all, _, err := e.caseTriage(ctx, caseID)
	if err != nil {
		return nil, err
	}
	return all.LogonList(), nil
}

// Metrics counts a case's events by event ID and channel, by channel, by
// computer, by file and over time.
func (e *Engine) Metrics(ctx context.Context, caseID uint64) (triage.Metrics, error) {
	all, files, err := e.caseTriage(ctx, caseID)
	if err != nil {
		return triage.Metrics{}, err
	}
	m := all.MetricsOf()
	for _, f := range files {
		m.ByFile = append(m.ByFile, triage.FileCount{FileID: f.file.ID, Name: f.file.Name, Count: f.sum.Events.Count,
			Percent: triage.Percent(f.sum.Events.Count, m.Total), First: f.sum.Events.First.UTC(), Last: f.sum.Events.Last.UTC()})
	}
	slices.SortStableFunc(m.ByFile, func(a, b triage.FileCount) int { return cmp.Compare(b.Count, a.Count) })
	return m, nil
}

// Attack is the ATT&CK view of a case's Sigma hits (rule tags): tactics ×
// techniques with event counts and the rules of each cell, and each
// host's techniques.
func (e *Engine) Attack(caseID uint64) (triage.Attack, error) {
	if _, err := e.ledger.Case(caseID); err != nil {
		return triage.Attack{}, err
	}
	b := triage.NewAttackBuilder()
	var buf []triage.RuleTags
	err := e.ledger.Hits(caseID, 0, func(h *store.EventHits) error {
		buf = buf[:0]
		for _, s := range h.Sigma {
			buf = append(buf, triage.RuleTags{RuleID: s.RuleID, Title: s.Title, Tags: s.Tags})
		}
		b.Add(h.Computer, buf)
		return nil
	})
	if err != nil {
		return triage.Attack{}, err
	}
	return b.Attack(), nil
}
