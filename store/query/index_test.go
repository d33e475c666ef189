package query_test

import (
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"casescope/store"
	"casescope/store/query"
)

// testDocs are hand-made documents in the layout of store/index.go, with
// values lower-cased as the index writes them.
func testDocs() map[string]map[string]any {
	ts := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	security := func() map[string]any {
		return map[string]any{
			store.FieldChannel: "security", store.FieldProvider: "microsoft-windows-security-auditing",
			store.FieldLevel: "000", store.FieldSigmaMax: 0, store.FieldIOCCount: 0, store.FieldFile: "1",
		}
	}
	d1 := security()
	d1[store.FieldEventID], d1[store.FieldRecordID] = "04624", "00000000000000000100"
	d1[store.FieldComputer], d1[store.FieldTime] = "host-7", ts("2024-05-14T09:30:00Z")
	d1[store.FieldKV] = []string{"targetusername=administrator", "logontype=3", "ipaddress=10.1.2.3", "subjectusersid=s-1-0-0"}
	d1[store.FieldUser] = []string{"administrator"}

	d2 := security()
	d2[store.FieldEventID], d2[store.FieldRecordID] = "04624", "00000000000000000101"
	d2[store.FieldComputer], d2[store.FieldTime] = "host-8.corp.local", ts("2024-05-15T08:00:00Z")
	d2[store.FieldKV] = []string{"targetusername=alice", "logontype=10", "ipaddress=10.9.9.9"}
	d2[store.FieldUser] = []string{"alice"}

	d3 := security()
	d3[store.FieldEventID], d3[store.FieldRecordID] = "04625", "00000000000000000102"
	d3[store.FieldComputer], d3[store.FieldTime] = "host-7", ts("2024-05-14T23:59:59.5Z")
	d3[store.FieldKV] = []string{"targetusername=admin-backup", "logontype=3", "ipaddress=10.1.2.3", "status=0xc000006d"}
	d3[store.FieldUser] = []string{"admin-backup"}

	d4 := map[string]any{
		store.FieldChannel: "microsoft-windows-sysmon/operational", store.FieldProvider: "microsoft-windows-sysmon",
		store.FieldEventID: "00001", store.FieldRecordID: "00000000000000000007", store.FieldLevel: "004", store.FieldFile: "2",
		store.FieldComputer: "host-7", store.FieldTime: ts("2024-05-13T12:00:00Z"),
		store.FieldKV: []string{`image=c:\windows\system32\cmd.exe`, `commandline=c:\windows\system32\cmd.exe /c whoami`,
			`parentimage=c:\windows\explorer.exe`, `user=nt authority\system`, "logonid=0x3e7"},
		store.FieldText:       `C:\Windows\system32\cmd.exe /c whoami`,
		store.FieldUser:       []string{`nt authority\system`},
		store.FieldSigmaRule:  []string{"abc-123"},
		store.FieldSigmaTitle: []string{"whoami execution"},
		store.FieldSigmaLevel: []string{"high"},
		store.FieldSigmaMax:   4, store.FieldIOCCount: 0,
		store.FieldTag: []string{"triage"},
	}
	d5 := map[string]any{
		store.FieldChannel: "microsoft-windows-powershell/operational", store.FieldProvider: "microsoft-windows-powershell",
		store.FieldEventID: "04104", store.FieldRecordID: "00000000000000000009", store.FieldLevel: "005", store.FieldFile: "3",
		store.FieldComputer: "host-9", store.FieldTime: ts("2019-03-01T10:00:00Z"),
		store.FieldKV:         []string{"scriptblocktext=invoke-mimikatz -dumpcreds", "messagenumber=1"},
		store.FieldText:       "Invoke-Mimikatz -DumpCreds",
		store.FieldSigmaRule:  []string{"def-456"},
		store.FieldSigmaTitle: []string{"mimikatz use"},
		store.FieldSigmaLevel: []string{"critical"},
		store.FieldSigmaMax:   5,
		store.FieldIOC:        []string{"ioc-1"}, store.FieldIOCType: []string{"keyword"}, store.FieldIOCCount: 1,
	}
	d6 := map[string]any{
		store.FieldChannel: "system", store.FieldProvider: "service control manager",
		store.FieldEventID: "07045", store.FieldRecordID: "00000000000000000003", store.FieldLevel: "004", store.FieldFile: "4",
		store.FieldComputer: "host-7", store.FieldTime: ts("2019-01-02T11:59:00Z"),
		store.FieldKV:       []string{"servicename=psexesvc", `imagepath=%systemroot%\psexesvc.exe`, "starttype=demand start"},
		store.FieldText:     `%SystemRoot%\PSEXESVC.exe`,
		store.FieldSigmaMax: 0, store.FieldIOCCount: 0,
		store.FieldStarred: "true",
	}
	d7 := map[string]any{
		store.FieldChannel: "microsoft-windows-windows defender/operational", store.FieldProvider: "microsoft-windows-windows defender",
		store.FieldEventID: "01116", store.FieldRecordID: "00000000000000000037", store.FieldLevel: "003", store.FieldFile: "5",
		store.FieldComputer: "msedgewin10", store.FieldTime: ts("2019-07-18T20:40:00Z"),
		store.FieldKV:       []string{"threat name=hacktool:win32/mimikatz", "severity name=high", `path=file:_c:\tools\m.exe`},
		store.FieldSigmaMax: 0, store.FieldIOCCount: 0,
	}
	return map[string]map[string]any{"1": d1, "2": d2, "3": d3, "4": d4, "5": d5, "6": d6, "7": d7}
}

func TestSearchMemIndex(t *testing.T) {
	idx, err := bleve.NewMemOnly(store.Mapping())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	b := idx.NewBatch()
	for id, doc := range testDocs() {
		if err := b.Index(id, doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.Batch(b); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		q    string
		want []string
	}{
		{"*", []string{"1", "2", "3", "4", "5", "6", "7"}},
		{"EventID:4624", []string{"1", "2"}},
		{"eventid:4624 host:HOST-7", []string{"1"}},
		{"EventID:4624 host:HOST-7 IpAddress:10.1.2.3 time:2024-05-14", []string{"1"}},
		{"TargetUserName:ADMIN*", []string{"1", "3"}},
		{"TargetUserName:Administrator", []string{"1"}},
		{`TargetUserName:"ADMIN*"`, nil},
		{`Image:C:\Windows\System32\cmd.exe`, []string{"4"}},
		{`Image:"c:\windows\system32\CMD.EXE"`, []string{"4"}},
		{"CommandLine:*WHOAMI*", []string{"4"}},
		{"CommandLine:/.*who[a-z]mi/", []string{"4"}},
		{"CommandLine:/.*WHOAMI/", []string{"4"}},
		{"CommandLine:*", []string{"4"}},
		{"IpAddress:*", []string{"1", "2", "3"}},
		{`CommandLine:""`, []string{"1", "2", "3", "5", "6", "7"}},
		{"LogonId:0x3e7", []string{"4"}},
		{"LogonType:(3 OR 10)", []string{"1", "2", "3"}},
		{"LogonType:3 EventID:4625", []string{"3"}},
		{"whoami", []string{"4"}},
		{"WHOAMI", []string{"4"}},
		{"mimikatz", []string{"5", "7"}},
		{`"invoke-mimikatz"`, []string{"5"}},
		{`"dumpcreds invoke"`, nil},
		{"mimi*", []string{"5", "7"}},
		{`C:\Windows\System32\cmd.exe`, []string{"4"}},
		{"host-7", []string{"1", "3", "4", "6"}},
		{"logontype=10", []string{"2"}},
		{"/psexe.*/", []string{"6"}},
		{`"Threat Name":*mimikatz*`, []string{"7"}},
		{"ThreatName:*mimikatz*", []string{"7"}},
		{"time:[2024-05-13 TO 2024-05-14]", []string{"1", "3", "4"}},
		{"time:2024-05-14", []string{"1", "3"}},
		{"time:>2024-05-14", []string{"2"}},
		{"time:>=2024-05-14T23:59:59.5Z", []string{"2", "3"}},
		{"time:<2019-03-01", []string{"6"}},
		{"time:[2019-01-01 TO 2019-01-02T12:00:00Z]", []string{"6"}},
		{"time:[2019 TO 2019]", []string{"5", "6", "7"}},
		{"time:>now-7d", []string{"1", "2", "3", "4"}},
		{"-EventID:4624", []string{"3", "4", "5", "6", "7"}},
		{"NOT host:host-7", []string{"2", "5", "7"}},
		{"EventID:4624 -host:host-7", []string{"2"}},
		{"EventID:4624 AND NOT TargetUserName:alice", []string{"1"}},
		{"(EventID:4624 OR EventID:4625) -LogonType:10", []string{"1", "3"}},
		{"EventID:[4624 TO 4625]", []string{"1", "2", "3"}},
		{"EventID:{4624 TO 4625]", []string{"3"}},
		{"EventID:>=4625", []string{"3", "6"}},
		{"EventID:<5", []string{"4"}},
		{"EventRecordID:100", []string{"1"}},
		{"level:information", []string{"1", "2", "3", "4", "6"}},
		{"level:warning", []string{"7"}},
		{"Provider:Microsoft-Windows-Security-Auditing", []string{"1", "2", "3"}},
		{"channel:Microsoft-Windows-Sysmon/Operational", []string{"4"}},
		{`Channel:"Microsoft-Windows-Windows Defender/Operational"`, []string{"7"}},
		{"provider:*sysmon*", []string{"4"}},
		{`User:"NT AUTHORITY\SYSTEM"`, []string{"4"}},
		{"user:admin*", []string{"1", "3"}},
		{"file:2", []string{"4"}},
		{"sigma:*", []string{"4", "5"}},
		{"sigma:ABC-123", []string{"4"}},
		{"sigma.level:high", []string{"4"}},
		{"sigma.level:>=high", []string{"4", "5"}},
		{"sigma.max:5", []string{"5"}},
		{`sigma.title:"Mimikatz Use"`, []string{"5"}},
		{"ioc:*", []string{"5"}},
		{"ioc.count:>0", []string{"5"}},
		{"ioc.type:keyword", []string{"5"}},
		{"tag:*", []string{"4"}},
		{"tag:TRIAGE", []string{"4"}},
		{"starred:true", []string{"6"}},
		{"ServiceName:PSEXESVC OR ScriptBlockText:*dumpcreds*", []string{"5", "6"}},
		// A clause that matches nothing must keep a NOT from matching
		// everything else (see build's note on MatchNone).
		{`"the" -EventID:4624`, nil},
		{"CommandLine:*nothing-here* -EventID:4624", nil},
		{"NOT *", nil},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			q, _, err := query.Parse(tc.q, query.Options{Now: time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.q, err)
			}
			req := bleve.NewSearchRequestOptions(q, 100, 0, false)
			res, err := idx.SearchInContext(t.Context(), req)
			if err != nil {
				t.Fatalf("search %q: %v", tc.q, err)
			}
			var got []string
			for _, h := range res.Hits {
				got = append(got, h.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("search %q = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}
