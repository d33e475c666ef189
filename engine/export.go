package engine

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"casescope/evtx"
	"casescope/store"
	"casescope/store/describe"
)

// Export formats.
const (
	FormatCSV      = "csv"       // Timeline Explorer friendly
	FormatJSONL    = "jsonl"     // Timesketch import
	FormatSigmaCSV = "sigma-csv" // Hayabusa-style detections
)

// ExportRequest selects what to export.
type ExportRequest struct {
	Format string
	Query  string // analyst query; "" = everything
	Tagged bool   // only starred/tagged events (the timeline)
	From   time.Time
	To     time.Time
	// Progress, when set, is called after each page with events written
	// and the total to write.
	Progress func(done, total uint64)
}

// keyFields are the data fields Timeline Explorer users want as columns.
var keyFields = []string{
	"TargetUserName", "SubjectUserName", "User", "LogonType", "IpAddress", "WorkstationName",
	"Image", "CommandLine", "ParentImage", "ParentCommandLine", "TargetFilename", "TargetObject",
	"Details", "DestinationIp", "DestinationPort", "QueryName", "ServiceName", "ImagePath",
	"ScriptBlockText", "ProcessName", "NewProcessName", "TaskName", "Hashes",
}

// Export streams the matching events (or, for FormatSigmaCSV, their Sigma
// hits) to w. Events are read file by file, each file once, in record
// order (Timeline Explorer and Timesketch sort by time on import); memory
// holds one file's matching record IDs and one chunk of events, whatever
// the export's size. It returns the number of events written.
func (e *Engine) Export(ctx context.Context, caseID uint64, req ExportRequest, w io.Writer) (uint64, error) {
	q := req.Query
	if req.Tagged {
		q = andQuery(q, "tag:*")
	}
	if req.Format == FormatSigmaCSV {
		q = andQuery(q, "sigma:*")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var row func(v *EventView) error
	var finish func() error
	switch req.Format {
	case FormatCSV:
		cw := csv.NewWriter(bw)
		header := append([]string{"Timestamp", "Computer", "Channel", "EventID", "Level", "Provider", "RecordID", "Description"}, keyFields...)
		header = append(header, "SigmaRules", "IOCs", "Tags", "Comments", "File", "AllFields")
		header = append(header, systemColumns...)
		if err := cw.Write(header); err != nil {
			return 0, fmt.Errorf("write csv: %w", err)
		}
		row = func(v *EventView) error { return cw.Write(defuse(csvRow(v))) }
		finish = func() error { cw.Flush(); return cw.Error() }
	case FormatJSONL:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		row = func(v *EventView) error { return enc.Encode(timesketchRecord(v)) }
		finish = func() error { return nil }
	case FormatSigmaCSV:
		cw := csv.NewWriter(bw)
		if err := cw.Write(append([]string{"Timestamp", "Computer", "Channel", "EventID", "Level", "RuleTitle", "RuleID", "Tags", "RecordID", "Details"}, systemColumns...)); err != nil {
			return 0, fmt.Errorf("write csv: %w", err)
		}
		row = func(v *EventView) error {
			for _, h := range v.Sigma {
				if err := cw.Write(defuse(sigmaRow(v, h))); err != nil {
					return err
				}
			}
			return nil
		}
		finish = func() error { cw.Flush(); return cw.Error() }
	default:
		return 0, fmt.Errorf("export format %q (want csv, jsonl or sigma-csv): %w", req.Format, store.ErrInvalid)
	}
	n, err := e.streamMatches(ctx, caseID, q, req, func(v *EventView) error { return row(v) })
	if err != nil {
		return n, err
	}
	if err := finish(); err != nil {
		return n, fmt.Errorf("finish export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("flush export: %w", err)
	}
	return n, nil
}

func andQuery(q, extra string) string {
	if strings.TrimSpace(q) == "" || strings.TrimSpace(q) == "*" {
		return extra
	}
	return "(" + q + ") AND " + extra
}

// systemColumns are the System fields the CSV exports add after their
// original columns, under their Windows names (the others have columns
// already).
var systemColumns = []string{"Qualifiers", "Version", "Task", "Opcode", "Keywords", "ProviderGUID", "EventSourceName",
	"ProcessID", "ThreadID", "UserID", "ActivityID", "RelatedActivityID"}

// systemValues renders ev's systemColumns; numbers Windows always writes
// are shown when zero, optional strings are empty when absent.
func systemValues(ev *evtx.Event) []string {
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	return []string{ev.Qualifiers, u(uint64(ev.Version)), u(uint64(ev.Task)), u(uint64(ev.Opcode)), ev.Keywords,
		ev.ProviderGUID, ev.EventSourceName, u(uint64(ev.ProcessID)), u(uint64(ev.ThreadID)), ev.UserID,
		ev.ActivityID, ev.RelatedActivityID}
}

// SystemFields lists every System element and attribute of ev under its
// Windows name, in Event Viewer's order; optional ones only when present.
func SystemFields(ev *evtx.Event) []evtx.Field {
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	out := make([]evtx.Field, 0, 19)
	add := func(name, v string, always bool) {
		if always || v != "" {
			out = append(out, evtx.Field{Name: name, Value: v})
		}
	}
	add("Provider", ev.Provider, true)
	add("ProviderGUID", ev.ProviderGUID, false)
	add("EventSourceName", ev.EventSourceName, false)
	add("EventID", u(uint64(ev.EventID)), true)
	add("Qualifiers", ev.Qualifiers, false)
	add("Version", u(uint64(ev.Version)), true)
	add("Level", u(uint64(ev.Level)), true)
	add("Task", u(uint64(ev.Task)), true)
	add("Opcode", u(uint64(ev.Opcode)), true)
	add("Keywords", ev.Keywords, false)
	add("TimeCreated", isoTime(ev.TimeCreated), true)
	add("EventRecordID", u(ev.RecordID), true)
	add("ActivityID", ev.ActivityID, false)
	add("RelatedActivityID", ev.RelatedActivityID, false)
	add("ProcessID", u(uint64(ev.ProcessID)), true)
	add("ThreadID", u(uint64(ev.ThreadID)), true)
	add("Channel", ev.Channel, true)
	add("Computer", ev.Computer, true)
	add("UserID", ev.UserID, false)
	// The rest of System as written ("Execution.@KernelTime", …).
	return append(out, ev.SystemExtra...)
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// allFields is the CSV's "all fields" column: the data fields, then the
// System elements and attributes without a column of their own.
func allFields(ev *evtx.Event) string {
	var b strings.Builder
	for i, f := range append(ev.Data[:len(ev.Data):len(ev.Data)], ev.SystemExtra...) {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
	}
	return b.String()
}

func csvRow(v *EventView) []string {
	ev := v.Event
	r := []string{isoTime(ev.TimeCreated), ev.Computer, ev.Channel, strconv.Itoa(int(ev.EventID)), strconv.Itoa(int(ev.Level)),
		ev.Provider, strconv.FormatUint(ev.RecordID, 10), v.Description}
	for _, k := range keyFields {
		val, _ := ev.Get(k)
		r = append(r, val)
	}
	var rules, iocs []string
	for _, h := range v.Sigma {
		rules = append(rules, h.Level+": "+h.Title)
	}
	for _, h := range v.IOCs {
		iocs = append(iocs, h.Type+"="+h.Value+" in "+h.Field)
	}
	var tags string
	if v.Tag != nil {
		tags = strings.Join(v.Tag.Terms(), ",")
	}
	r = append(r, strings.Join(rules, "; "), strings.Join(iocs, "; "), tags, commentsText(v.Comments), v.FileName, allFields(ev))
	return append(r, systemValues(ev)...)
}

// timesketchRecord is one line of Timesketch's JSONL import: message,
// datetime and timestamp_desc are required; timestamp (µs) helps sorting;
// other keys become searchable attributes.
func timesketchRecord(v *EventView) map[string]any {
	ev := v.Event
	msg := fmt.Sprintf("[%d] %s", ev.EventID, v.Description)
	if v.Description == "" {
		msg = fmt.Sprintf("[%d] %s", ev.EventID, ev.Provider)
	}
	var parts []string
	for _, k := range keyFields {
		if val, ok := ev.Get(k); ok && val != "" && len(parts) < 4 {
			parts = append(parts, k+"="+truncate(val, 200))
		}
	}
	if len(parts) > 0 {
		msg += " " + strings.Join(parts, " ")
	}
	rec := map[string]any{
		"message":          msg,
		"datetime":         ev.TimeCreated.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		"timestamp":        ev.TimeCreated.UnixMicro(),
		"timestamp_desc":   "Event Recorded",
		"data_type":        "windows:evtx:record",
		"computer_name":    ev.Computer,
		"channel":          ev.Channel,
		"provider":         ev.Provider,
		"event_identifier": ev.EventID,
		"record_number":    ev.RecordID,
		"event_level":      ev.Level,
		"source_file":      v.FileName,
		"casescope_id":     v.ID,
	}
	// Every System field under the Event's JSON names; numbers always
	// (zero is a value), optional strings when present.
	rec["version"], rec["task"], rec["opcode"] = ev.Version, ev.Task, ev.Opcode
	rec["process_id"], rec["thread_id"] = ev.ProcessID, ev.ThreadID
	for k, val := range map[string]string{"keywords": ev.Keywords, "user_id": ev.UserID, "qualifiers": ev.Qualifiers,
		"provider_guid": ev.ProviderGUID, "event_source_name": ev.EventSourceName, "activity_id": ev.ActivityID,
		"related_activity_id": ev.RelatedActivityID} {
		if val != "" {
			rec[k] = val
		}
	}
	// System elements and attributes without a field of their own as
	// sys_<name> ("Execution.@KernelTime" → sys_Execution_KernelTime).
	for _, f := range ev.SystemExtra {
		rec["sys_"+strings.NewReplacer(".@", "_", ".", "_", "@", "").Replace(f.Name)] = f.Value
	}
	// Data fields as evt_<name>; a repeated name (every unnamed <Data> is
	// "Data") becomes a list of all its values in document order.
	for _, f := range ev.Data {
		key := "evt_" + strings.Map(func(r rune) rune {
			if r == ' ' || r == '.' {
				return '_'
			}
			return r
		}, f.Name)
		switch prev := rec[key].(type) {
		case nil:
			rec[key] = f.Value
		case string:
			rec[key] = []string{prev, f.Value}
		case []string:
			rec[key] = append(prev, f.Value)
		}
	}
	if len(v.Sigma) > 0 {
		titles := make([]string, len(v.Sigma))
		for i, h := range v.Sigma {
			titles[i] = h.Title
		}
		rec["sigma_rules"] = titles
	}
	if len(v.IOCs) > 0 {
		vals := make([]string, len(v.IOCs))
		for i, h := range v.IOCs {
			vals[i] = h.Value
		}
		rec["iocs"] = vals
	}
	if v.Tag != nil {
		rec["tag"] = v.Tag.Terms()
	}
	if len(v.Comments) > 0 {
		cs := make([]map[string]string, len(v.Comments))
		for i, c := range v.Comments {
			cs[i] = map[string]string{"author": c.Author, "time": c.Created.UTC().Format(time.RFC3339), "text": c.Text}
		}
		rec["comments"] = cs
	}
	return rec
}

// commentsText is an event's thread in one CSV cell: "author (time):
// text" per comment, oldest first, separated by " | ".
func commentsText(cs []store.Comment) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Author + " (" + c.Created.UTC().Format("2006-01-02 15:04Z") + "): " + c.Text
	}
	return strings.Join(parts, " | ")
}

// caseComments loads a case's comment threads by document ID.
func (e *Engine) caseComments(caseID uint64) (map[string][]store.Comment, error) {
	out := map[string][]store.Comment{}
	err := e.ledger.CaseComments(caseID, func(c *store.Comment) error {
		out[c.DocID] = append(out[c.DocID], *c)
		return nil
	})
	return out, err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sigmaRow(v *EventView, h store.SigmaHit) []string {
	ev := v.Event
	var details []string
	for _, k := range keyFields {
		if val, ok := ev.Get(k); ok && val != "" {
			details = append(details, k+": "+truncate(val, 300))
		}
	}
	if len(details) == 0 {
		for _, f := range ev.Data {
			if len(details) >= 6 {
				break
			}
			details = append(details, f.Name+": "+truncate(f.Value, 300))
		}
	}
	tags := append([]string(nil), h.Tags...)
	sort.Strings(tags)
	return append([]string{isoTime(ev.TimeCreated), ev.Computer, ev.Channel, strconv.Itoa(int(ev.EventID)), h.Level, h.Title, h.RuleID,
		strings.Join(tags, ","), strconv.FormatUint(ev.RecordID, 10), strings.Join(details, " ¦ ")}, systemValues(ev)...)
}

// streamMatches calls fn for every event matching q (and the request's time
// range), reading each file that has matches once, in file and record
// order.
func (e *Engine) streamMatches(ctx context.Context, caseID uint64, q string, req ExportRequest, fn func(v *EventView) error) (uint64, error) {
	total, err := e.Search(ctx, caseID, store.SearchRequest{Query: q, From: req.From, To: req.To, Size: 1})
	if err != nil {
		return 0, err
	}
	idx, err := e.Index(caseID)
	if err != nil {
		return 0, err
	}
	files, err := e.ledger.Files(caseID)
	if err != nil {
		return 0, err
	}
	var n uint64
	var comments map[string][]store.Comment // loaded at the first file with matches
	for _, f := range files {
		if f.Events == 0 || f.State != store.StateCompleted {
			continue
		}
		fq := andQuery(q, "file:"+strconv.FormatUint(f.ID, 10))
		keys, err := idx.DocKeys(ctx, store.SearchRequest{Query: fq, From: req.From, To: req.To,
			QueryOptions: store.QueryOptions{FileIDs: e.fileResolver(caseID)}})
		if err != nil {
			return n, err
		}
		if len(keys) == 0 {
			continue
		}
		// Records are identified by chunk and offset, never by
		// EventRecordID, which a file may repeat.
		want := make(map[uint64]bool, len(keys))
		for _, k := range keys {
			want[k] = true
		}
		// The file's hits and tags, loaded once rather than one ledger
		// read per exported event.
		hits := map[string]store.EventHits{}
		if err := e.ledger.Hits(caseID, f.ID, func(h *store.EventHits) error { hits[h.DocID] = *h; return nil }); err != nil {
			return n, err
		}
		tags, err := e.fileTags(caseID, f.ID)
		if err != nil {
			return n, err
		}
		if comments == nil {
			if comments, err = e.caseComments(caseID); err != nil {
				return n, err
			}
		}
		_, err = e.streamFile(ctx, f.Path, func(ev *evtx.Event) error {
			ref := store.RefOf(f.ID, ev)
			if !want[ref.Key()] {
				return nil
			}
			id := ref.ID()
			v := EventView{ID: id, FileID: f.ID, FileName: f.Name, Event: ev,
				Description: describe.DescribeEvent(ev.Channel, ev.Provider, ev.EventID)}
			if h, ok := hits[id]; ok {
				v.Sigma, v.IOCs = h.Sigma, h.IOCs
			}
			if t, ok := tags.byID[id]; ok {
				v.Tag = &t
			}
			v.Comments = comments[id]
			n++
			if err := fn(&v); err != nil {
				return err
			}
			if req.Progress != nil && n%1000 == 0 {
				req.Progress(n, total.Total)
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("export %s: %w", f.Name, err)
		}
	}
	if req.Progress != nil {
		req.Progress(n, total.Total)
	}
	return n, nil
}

// defuse keeps spreadsheet programs from running event text as formulas
// (CSV injection): a cell starting with = + - @ or a tab/CR gets a leading
// apostrophe, which Excel and Timeline Explorer show as text. A lone "-"
// (the common empty value of Windows events) is left alone.
func defuse(row []string) []string {
	for i, c := range row {
		if len(c) > 1 || (len(c) == 1 && c != "-") {
			switch c[0] {
			case '=', '+', '-', '@', '\t', '\r':
				row[i] = "'" + c
			}
		}
	}
	return row
}
