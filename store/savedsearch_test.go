package store

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
)

func TestSavedSearchesAndHistory(t *testing.T) {
	l, err := OpenLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	c, err := l.CreateCase("ws", "")
	if err != nil {
		t.Fatal(err)
	}
	// The starter templates, each a valid query.
	tpl, err := l.SavedSearches(0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range tpl {
		names = append(names, s.Name)
		if err := ValidateQuery(s.Query, QueryOptions{Strict: true}); err != nil {
			t.Errorf("template %s: %v", s.Name, err)
		}
	}
	want := []string{"Account changes", "Failed logons", "Log clearing", "New services", "PowerShell script blocks", "RDP logons", "Scheduled tasks"}
	if !slices.Equal(names, want) {
		t.Errorf("templates: got %q, want %q", names, want)
	}
	s, err := l.AddSavedSearch(SavedSearch{CaseID: c.ID, Name: " spray ", Query: "EventID:4648",
		Params: map[string]string{"sort_field": "TargetUserName", "sort": "asc"}, Columns: []string{"TargetUserName"}, Owner: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "spray" || s.ID == 0 {
		t.Errorf("saved: %+v", s)
	}
	for _, bad := range []SavedSearch{
		{CaseID: c.ID, Name: "", Query: "x"},
		{CaseID: c.ID, Name: "q", Query: "EventID:(4624"},
		{CaseID: c.ID, Name: "p", Query: "x", Params: map[string]string{"evil": "1"}},
		{CaseID: c.ID + 99, Name: "no case", Query: "x"},
	} {
		if _, err := l.AddSavedSearch(bad); err == nil {
			t.Errorf("AddSavedSearch(%+v): no error", bad)
		}
	}
	up, err := l.UpdateSavedSearch(c.ID, s.ID, "bob", func(s *SavedSearch) error { s.Query = "EventID:4625"; return nil })
	if err != nil || up.Query != "EventID:4625" || up.UpdatedBy != "bob" || up.Owner != "ann" {
		t.Errorf("update: %+v %v", up, err)
	}
	got, err := l.SavedSearch(c.ID, s.ID)
	if err != nil || got.Query != "EventID:4625" || got.Params["sort_field"] != "TargetUserName" {
		t.Errorf("read back: %+v %v", got, err)
	}
	if _, err := l.SavedSearch(c.ID, s.ID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing saved search: %v, want ErrNotFound", err)
	}

	// History: newest first, a repeat moves up, bounded.
	for _, q := range []string{"a", "b", "a"} {
		if err := l.RecordSearch(c.ID, "ann", HistoryEntry{Query: q}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := l.SearchHistory(c.ID, "ann")
	if err != nil || len(h) != 2 || h[0].Query != "a" || h[1].Query != "b" {
		t.Errorf("history: %+v %v", h, err)
	}
	for i := range maxHistory + 5 {
		_ = l.RecordSearch(c.ID, "ann", HistoryEntry{Query: "q" + string(rune('a'+i))})
	}
	if h, _ := l.SearchHistory(c.ID, "ann"); len(h) != maxHistory {
		t.Errorf("history length %d, want %d", len(h), maxHistory)
	}
	if h, _ := l.SearchHistory(c.ID, "bob"); len(h) != 0 {
		t.Errorf("bob's history: %+v, want none", h)
	}

	if err := l.SetUserPrefs("ann", Prefs{Columns: []string{"Image", "CommandLine"}}); err != nil {
		t.Fatal(err)
	}
	if p, err := l.UserPrefs("ann"); err != nil || !slices.Equal(p.Columns, []string{"Image", "CommandLine"}) {
		t.Errorf("prefs: %+v %v", p, err)
	}

	// A deleted case takes its saved searches and history along.
	if _, err := l.DeleteCase(c.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := l.SavedSearches(c.ID); err != nil || len(list) != 0 {
		t.Errorf("after delete: %+v %v", list, err)
	}
	if h, _ := l.SearchHistory(c.ID, "ann"); len(h) != 0 {
		t.Errorf("history after delete: %d entries", len(h))
	}
}
