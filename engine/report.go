package engine

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"time"

	"casescope/store"
)

//go:embed report.html.tmpl
var reportTemplate string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"system": SystemFields,
}).Parse(reportTemplate))

// maxReportTimeline bounds the timeline section of the report.
const maxReportTimeline = 5000

// Report writes the case summary as one self-contained HTML page (no
// scripts, no external resources): counts, Sigma hits by level and rule,
// IOC hits and the tagged timeline. All event text goes through
// html/template's escaping.
func (e *Engine) Report(ctx context.Context, caseID uint64, w io.Writer) error {
	st, err := e.Stats(caseID)
	if err != nil {
		return err
	}
	rules, err := e.SigmaSummary(caseID)
	if err != nil {
		return err
	}
	iocs, err := e.IOCs(caseID)
	if err != nil {
		return err
	}
	var timeline []EventView
	cursor := ""
	for len(timeline) < maxReportTimeline {
		page, err := e.SearchFull(ctx, caseID, store.SearchRequest{Query: "tag:*", Size: 500, Asc: true, Cursor: cursor})
		if err != nil {
			return err
		}
		timeline = append(timeline, page.Hits...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	data := map[string]any{
		"Stats": st, "Rules": rules, "IOCs": iocs, "Timeline": timeline,
		"Generated": time.Now().UTC(), "Truncated": len(timeline) >= maxReportTimeline,
		"Levels": []string{"critical", "high", "medium", "low", "informational"},
	}
	if err := reportTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}
