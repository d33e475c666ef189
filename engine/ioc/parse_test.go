package ioc

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDetectType(t *testing.T) {
	tests := []struct {
		in   string
		want Type
	}{
		{"10.0.0.1", TypeIP},
		{"10.0.0.0/8", TypeIP},
		{"2001:db8::1", TypeIP},
		{"::ffff:10.0.0.1", TypeIP},
		{"10[.]0[.]0[.]1", TypeIP},
		{"975B45B669930B0CC773EAF2B414206F", TypeMD5},
		{"8c5437cd76a89ec983e3b364e219944da3dab464", TypeSHA1},
		{"3656f37a1c6951ec4496fabb8ee957d3a6e3c276d5a3785476b482c9c0d39751", TypeSHA256},
		{"3656f37a1c6951ec4496fabb8ee957d3a6e3c276d5a3785476b482c9c0d3975", TypeString}, // 63 hex
		{"S-1-5-21-1004336348-1177238915-682003330-512", TypeSID},
		{"https://evil.com/a.ps1", TypeURL},
		{"hxxp://evil[.]com/x", TypeURL},
		{"evil.com", TypeDomain},
		{"a.b.evil.co.uk", TypeDomain},
		{"evil[.]com", TypeDomain},
		{"*.evil.com", TypeDomain},
		{"mimikatz.exe", TypeFilename},
		{"Invoice.PDF", TypeFilename},
		{`C:\Tools\mimikatz.exe`, TypeFilepath},
		{`C:\Program Files\Evil\e.exe`, TypeFilepath},
		{`\\server\share\x.exe`, TypeFilepath},
		{`%APPDATA%\x.exe`, TypeFilepath},
		{`Tools\mimikatz.exe`, TypeFilepath},
		{`CORP\alice`, TypeUsername},
		{`NT AUTHORITY\SYSTEM`, TypeUsername},
		{"alice@corp.local", TypeUsername},
		{`HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, TypeRegistry},
		{`HKEY_CURRENT_USER\Software\x`, TypeRegistry},
		{`\REGISTRY\MACHINE\SYSTEM\x`, TypeRegistry},
		{"Invoke-Mimikatz", TypeString},
		{`C:\Windows\System32\cmd.exe /c whoami`, TypeString},
		{"powershell -enc JAB", TypeString},
		{"WKS01", TypeString},
		{"10.0.17763.1", TypeString},
		{"", TypeString},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := DetectType(tc.in); got != tc.want {
				t.Errorf("DetectType(%q): got %s, want %s", tc.in, got, tc.want)
			}
			// Whatever is detected must validate.
			if tc.in != "" {
				if _, err := Validate(IOC{Type: DetectType(tc.in), Value: tc.in}); err != nil {
					t.Errorf("Validate(detected): %v", err)
				}
			}
		})
	}
}

func TestParseType(t *testing.T) {
	for _, want := range Types() {
		got, err := ParseType(" " + strings.ToUpper(string(want)) + " ")
		if err != nil || got != want {
			t.Errorf("ParseType(%q): got %q, %v, want %q", want, got, err, want)
		}
	}
	if _, err := ParseType("email"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseType(email): got %v, want ErrInvalid", err)
	}
}

func TestParseText(t *testing.T) {
	in := "\ufeff# pasted from a report\r\n" +
		"10.0.0.1\r\n" +
		"\r\n" +
		"  evil[.]com  \n" +
		"975B45B669930B0CC773EAF2B414206F\n" +
		"10.0.0.1\n" + // duplicate
		"# comment\n" +
		`CORP\alice` + "\n" +
		"Invoke-Mimikatz\n"
	got, err := ParseText(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []IOC{
		{Type: TypeIP, Value: "10.0.0.1", Enabled: true},
		{Type: TypeDomain, Value: "evil.com", Enabled: true},
		{Type: TypeMD5, Value: "975b45b669930b0cc773eaf2b414206f", Enabled: true},
		{Type: TypeUsername, Value: `CORP\alice`, Enabled: true},
		{Type: TypeString, Value: "Invoke-Mimikatz", Enabled: true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("ParseText:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []IOC
	}{
		{
			name: "header",
			in:   "type,value,description\nip,10.0.0.1,c2\nsha1,8C5437CD76A89EC983E3B364E219944DA3DAB464,\"dropper, stage 2\"\n",
			want: []IOC{
				{Type: TypeIP, Value: "10.0.0.1", Description: "c2", Enabled: true},
				{Type: TypeSHA1, Value: "8c5437cd76a89ec983e3b364e219944da3dab464", Description: "dropper, stage 2", Enabled: true},
			},
		},
		{
			name: "no header",
			in:   "domain,evil.com,phishing\r\nfilename,mimikatz.exe\n",
			want: []IOC{
				{Type: TypeDomain, Value: "evil.com", Description: "phishing", Enabled: true},
				{Type: TypeFilename, Value: "mimikatz.exe", Enabled: true},
			},
		},
		{
			name: "header reordered with extras and bom",
			in:   "\ufeffType,Value,Source,Enabled,Tag\n,10.0.0.0/8,misp,false,x\nstring,Invoke-X,,,\n",
			want: []IOC{
				{Type: TypeIP, Value: "10.0.0.0/8", Source: "misp", Enabled: false},
				{Type: TypeString, Value: "Invoke-X", Enabled: true},
			},
		},
		{
			name: "empty type detected, comments",
			in:   "# exported\n,mimikatz.exe,tool\n",
			want: []IOC{{Type: TypeFilename, Value: "mimikatz.exe", Description: "tool", Enabled: true}},
		},
		{
			name: "formula guard",
			in:   "command,'-enc JAB,'=cmd\n",
			want: []IOC{{Type: TypeCommand, Value: "-enc JAB", Description: "=cmd", Enabled: true}},
		},
		{name: "empty", in: "", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseCSV:\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseErrorsNameLine(t *testing.T) {
	tests := []struct {
		name     string
		parse    func(string) error
		in       string
		wantLine int
	}{
		{"csv bad type", csvErr, "type,value\nip,10.0.0.1\nemail,a@b.c\n", 3},
		{"csv bad value", csvErr, "ip,10.0.0.1\n\nmd5,abc\n", 3},
		{"csv bad enabled", csvErr, "ip,10.0.0.1,,maybe\n", 1},
		{"csv too many columns", csvErr, "ip,10.0.0.1,a,true,b,c\n", 1},
		{"csv bad quote", csvErr, "ip,10.0.0.1\nip,\"10.0.0.2\n", 2},
		{"csv empty value", csvErr, "string,\n", 1},
		{"text line too long", textErr, "10.0.0.1\n" + strings.Repeat("a", maxLine+1), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(tc.in)
			if err == nil {
				t.Fatal("got nil error")
			}
			var pe *ParseError
			if tc.wantLine == 0 {
				return
			}
			if !errors.As(err, &pe) || pe.Line != tc.wantLine {
				t.Errorf("got %v, want a ParseError on line %d", err, tc.wantLine)
			}
		})
	}
}

func csvErr(s string) error  { _, err := ParseCSV(strings.NewReader(s)); return err }
func textErr(s string) error { _, err := ParseText(strings.NewReader(s)); return err }

func TestCSVRoundTrip(t *testing.T) {
	in := []IOC{
		{Type: TypeIP, Value: "10.0.0.0/8", Enabled: true, Description: "lab", Source: "misp"},
		{Type: TypeCommand, Value: "-enc JAB", Enabled: false, Description: "=HYPERLINK(\"x\")", Source: "+"},
		{Type: TypeString, Value: "'=x", Enabled: true, Description: "multi\nline, \"quoted\""},
		{Type: TypeString, Value: "'plain", Enabled: true},
		{Type: TypeUsername, Value: `CORP\alice`, Enabled: true, Description: "@admin"},
		{Type: TypeString, Value: "#not a comment", Enabled: true},
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, in); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\n=") || strings.Contains(buf.String(), ",=") || strings.Contains(buf.String(), ",-") {
		t.Errorf("formula cell not guarded:\n%s", buf.String())
	}
	got, err := ParseCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, in) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got, in)
	}
}
