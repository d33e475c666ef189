package csvin

import (
	"slices"
	"strings"
	"testing"
	"time"

	"casescope/evtx"
	"casescope/input/tally"
)

// TestEvtxECmdRow maps a row in EvtxECmd's CSV layout (its documented
// header; the Payload as EvtxECmd writes it, including a Data element
// without text): System fields from their columns, the Payload's data by
// name after the columns.
func TestEvtxECmdRow(t *testing.T) {
	const csv = "RecordNumber,EventRecordId,TimeCreated,EventId,Level,Provider,Channel,ProcessId,ThreadId,Computer,ChunkNumber,UserId,MapDescription,UserName,RemoteHost,PayloadData1,PayloadData2,PayloadData3,PayloadData4,PayloadData5,PayloadData6,ExecutableInfo,HiddenRecord,SourceFile,Keywords,ExtraDataOffset,Payload\n" +
		`1,74,2024-05-29 06:36:40.2467632,4768,LogAlways,Microsoft-Windows-Security-Auditing,Security,716,1788,DC01.forela.local,0,,TGT requested,,,,,,,,,,False,C:\Security.evtx,Audit success,0,"{""EventData"":{""Data"":[{""@Name"":""TargetUserName"",""#text"":""arthur.kyle""},{""@Name"":""PreAuthType"",""#text"":""0""},{""@Name"":""peer""}]}}"` + "\n"
	d, ok := Sniff(csv)
	if !ok || d != ',' {
		t.Fatalf("Sniff: %q, %v; want comma", d, ok)
	}
	var evs []*evtx.Event
	var tl tally.Tally
	if err := Stream(t.Context(), strings.NewReader(csv), d, &tl, func(ev *evtx.Event) error {
		evs = append(evs, ev)
		return nil
	}); err != nil || len(evs) != 1 {
		t.Fatalf("stream: %v, %d events", err, len(evs))
	}
	ev := evs[0]
	want := time.Date(2024, 5, 29, 6, 36, 40, 246763200, time.UTC)
	if ev.EventID != 4768 || ev.Channel != "Security" || ev.RecordID != 74 || ev.Computer != "DC01.forela.local" ||
		ev.Provider != "Microsoft-Windows-Security-Auditing" || !ev.TimeCreated.Equal(want) {
		t.Errorf("system fields: %+v", ev)
	}
	n := len(ev.Data)
	got := ev.Data[n-3:]
	wantData := []evtx.Field{{Name: "TargetUserName", Value: "arthur.kyle"}, {Name: "PreAuthType", Value: "0"}, {Name: "peer", Value: ""}}
	if !slices.Equal(got, wantData) {
		t.Errorf("payload fields %v, want %v", got, wantData)
	}
}
