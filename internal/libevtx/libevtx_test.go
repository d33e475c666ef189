package libevtx

import (
	"reflect"
	"testing"
)

// TestParseEvtxexportQuirks feeds Parse the shapes evtxexport really
// writes (seen in the shared corpus): a verbatim SOAP value (LiveId), a
// value with control characters and CRLF, unnamed <Data>, UserData.
func TestParseEvtxexportQuirks(t *testing.T) {
	out := "evtxexport 20181227\n\n" +
		"<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n" +
		"  <System>\n    <EventRecordID>7</EventRecordID>\n  </System>\n" +
		"  <EventData Name=\"E\">\n" +
		"    <Data Name=\"Value\"><S:Envelope><a x=\"1\">*</a></S:Envelope> & more</Data>\n" +
		"    <Data Name=\"Ctl\">a\x02b\r\nc</Data>\n" +
		"    <Data Name=\"Empty\"/>\n" +
		"    <Data>one</Data>\n    <Data>two &amp; &lt;3&gt;</Data>\n" +
		"    <Binary>00FF</Binary>\n" +
		"  </EventData>\n</Event>\n\n" +
		"<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n" +
		"  <System/>\n  <UserData>\n    <LogFileCleared xmlns=\"x\" T=\"1\">\n" +
		"      <SubjectUserName>bob</SubjectUserName>\n      <Deep><Leaf A=\"1\">v</Leaf></Deep>\n" +
		"    </LogFileCleared>\n  </UserData>\n</Event>\n\n"
	recs := Parse([]byte(out))
	if len(recs) != 2 {
		t.Fatalf("records = %d, want 2", len(recs))
	}
	for i, r := range recs {
		if r.Err != nil {
			t.Fatalf("record %d: %v", i, r.Err)
		}
	}
	got, elem := Data(recs[0].Root)
	want := []Field{
		{"EventData.@Name", "E"},
		{"Value", `<S:Envelope><a x="1">*</a></S:Envelope> & more`},
		{"Ctl", "a\x02b\r\nc"},
		{"Empty", ""},
		{"Data", "one"},
		{"Data", "two & <3>"},
		{"Binary", "00FF"},
	}
	if !reflect.DeepEqual(got, want) || elem != "" {
		t.Errorf("EventData = %q, %q; want %q", got, elem, want)
	}
	if id := recs[0].Root.Child("System").Child("EventRecordID").Text; id != "7" {
		t.Errorf("EventRecordID = %q, want 7", id)
	}
	got, elem = Data(recs[1].Root)
	want = []Field{{"@T", "1"}, {"SubjectUserName", "bob"}, {"Deep.Leaf.@A", "1"}, {"Deep.Leaf", "v"}}
	if !reflect.DeepEqual(got, want) || elem != "LogFileCleared" {
		t.Errorf("UserData = %q, %q; want %q, LogFileCleared", got, elem, want)
	}
}
