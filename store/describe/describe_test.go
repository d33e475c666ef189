package describe_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"casescope/store/describe"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		channel string
		id      uint32
		want    string
	}{
		{"Security", 4624, "An account was successfully logged on"},
		{"security", 4625, "An account failed to log on"},
		{"Security", 4688, "A new process has been created"},
		{"Security", 1102, "The audit log was cleared"},
		{"Security", 4720, "A user account was created"},
		{"Security", 4769, "A Kerberos service ticket was requested"},
		{"Security", 5145, "A network share object was checked to see whether client can be granted desired access"},
		{"System", 7045, "A service was installed in the system"},
		{"System", 104, "An event log was cleared"},
		{"System", 6005, "The Event log service was started"},
		{"Microsoft-Windows-Sysmon/Operational", 1, "Process creation"},
		{"Microsoft-Windows-Sysmon/Operational", 3, "Network connection"},
		{"Microsoft-Windows-Sysmon/Operational", 22, "DNS query"},
		{"Microsoft-Windows-PowerShell/Operational", 4104, "PowerShell script block logged"},
		{"Windows PowerShell", 800, "PowerShell pipeline execution details"},
		{"Microsoft-Windows-TaskScheduler/Operational", 106, "Scheduled task registered"},
		{"Microsoft-Windows-WMI-Activity/Operational", 5861, "A permanent WMI event subscription (filter-to-consumer binding) was registered"},
		{"Microsoft-Windows-Windows Defender/Operational", 1116, "Malware or unwanted software detected"},
		{"Microsoft-Windows-Bits-Client/Operational", 59, "BITS started a transfer"},
		{"Microsoft-Windows-WinRM/Operational", 169, "WinRM authenticated a user"},
		{"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational", 1149, "Remote Desktop user authentication succeeded"},
		{"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", 21, "Remote Desktop session logon succeeded"},
		{"Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational", 131, "The server accepted a new TCP connection from a client"},
		// Channel-independent fallback for Security-range IDs.
		{"ForwardedEvents", 4624, "An account was successfully logged on"},
		{"", 4688, "A new process has been created"},
		// Unknown.
		{"Security", 1, ""},
		{"Microsoft-Windows-Sysmon/Operational", 4624, ""},
		{"System", 4624, ""},
		{"Some-Vendor/Operational", 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.channel+"/"+strconv.Itoa(int(tc.id)), func(t *testing.T) {
			if got := describe.Describe(tc.channel, tc.id); got != tc.want {
				t.Errorf("Describe(%q, %d) = %q, want %q", tc.channel, tc.id, got, tc.want)
			}
		})
	}
}

func TestDescribeEvent(t *testing.T) {
	tests := []struct {
		channel, provider string
		id                uint32
		want              string
	}{
		{"System", "Microsoft-Windows-Kernel-General", 1, "The system time was changed"},
		{"System", "Microsoft-Windows-Power-Troubleshooter", 1, "The system has resumed from sleep"},
		{"System", "Microsoft-Windows-Kernel-Boot", 20, "Status of the last shutdown and boot"},
		{"System", "Microsoft-Windows-WindowsUpdateClient", 20, "Windows Update failed to install an update"},
		{"System", "Microsoft-Windows-Winlogon", 7001, "User logon notification for Customer Experience Improvement Program"},
		{"System", "Service Control Manager", 7001, "A service depends on a service that failed to start"},
		{"Application", "MsiInstaller", 1040, "Windows Installer transaction started"},
		{"Application", "ESENT", 325, "ESENT created a new database"},
		{"Application", "MSSQL$SQLEXPRESS", 18456, "SQL Server login failed"},
		{"ForwardedEvents", "Microsoft-Windows-Sysmon", 10, "Process access"},
		{"Security", "Microsoft-Windows-Eventlog", 1102, "The audit log was cleared"},
		{"System", "Unknown-Provider", 7045, "A service was installed in the system"},
	}
	for _, tc := range tests {
		t.Run(tc.provider+"/"+strconv.Itoa(int(tc.id)), func(t *testing.T) {
			if got := describe.DescribeEvent(tc.channel, tc.provider, tc.id); got != tc.want {
				t.Errorf("DescribeEvent(%q, %q, %d) = %q, want %q", tc.channel, tc.provider, tc.id, got, tc.want)
			}
		})
	}
}

// testdataDir finds the shared test data: $CASESCOPE_TESTDATA, else
// ../shared/testdata next to the repository root. It skips the test when
// the data is absent, and fails instead when CI=true.
func testdataDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CASESCOPE_TESTDATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for root := wd; ; root = filepath.Dir(root) {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				dir = filepath.Join(root, "..", "shared", "testdata")
				break
			}
			if filepath.Dir(root) == root {
				break
			}
		}
	}
	if dir == "" {
		dir = "(no go.mod above the working directory)"
	}
	if _, err := os.Stat(filepath.Join(dir, "expected", "inventory.tsv")); err != nil {
		msg := "test data not found at " + dir + "; set CASESCOPE_TESTDATA"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// TestDescribeCoversInventory checks that the (channel, EventID) pairs of
// the main channels in the test corpus inventory have descriptions. The
// inventory has per-file histograms of channels and IDs; in a file with
// several channels an ID is attributed only when its range says which
// channel it belongs to (Sysmon ≤ 255, Security 1100-1108 and 4608-6424).
func TestDescribeCoversInventory(t *testing.T) {
	fh, err := os.Open(filepath.Join(testdataDir(t), "expected", "inventory.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	main := map[string]bool{
		"Security": true, "System": true, "Microsoft-Windows-Sysmon/Operational": true,
		"Microsoft-Windows-PowerShell/Operational": true, "Windows PowerShell": true,
	}
	inRange := func(channel string, id int) bool {
		switch channel {
		case "Microsoft-Windows-Sysmon/Operational":
			return id <= 255
		case "Security":
			return (id >= 1100 && id <= 1108) || (id >= 4608 && id <= 6424)
		}
		return false
	}
	pairs := map[string]bool{}
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	var cols map[string]int
	for sc.Scan() {
		rec := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range rec {
				cols[c] = i
			}
			continue
		}
		ci, ei := cols["channels_python_evtx"], cols["eventids_python_evtx"]
		if ci >= len(rec) || ei >= len(rec) {
			continue
		}
		var chans []string
		for _, kv := range strings.Split(rec[ci], ";") {
			if i := strings.LastIndexByte(kv, '='); i > 0 {
				chans = append(chans, kv[:i])
			}
		}
		for _, kv := range strings.Split(rec[ei], ";") {
			i := strings.LastIndexByte(kv, '=')
			if i <= 0 {
				continue
			}
			id, err := strconv.Atoi(kv[:i])
			if err != nil {
				t.Fatalf("bad event id %q in inventory", kv)
			}
			var cands []string
			for _, c := range chans {
				if len(chans) == 1 || inRange(c, id) {
					cands = append(cands, c)
				}
			}
			if len(cands) == 1 && main[cands[0]] {
				pairs[cands[0]+"\t"+strconv.Itoa(id)] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(pairs) < 100 {
		t.Fatalf("found %d (channel, EventID) pairs in the inventory, want ≥100", len(pairs))
	}
	var missing []string
	for p := range pairs {
		ch, idStr, _ := strings.Cut(p, "\t")
		id, _ := strconv.Atoi(idStr)
		if describe.Describe(ch, uint32(id)) == "" {
			missing = append(missing, ch+" "+idStr)
		}
	}
	slices.Sort(missing)
	t.Logf("%d of %d (channel, EventID) pairs described; missing: %v", len(pairs)-len(missing), len(pairs), missing)
	if len(missing)*10 > len(pairs) {
		t.Errorf("%d of %d pairs have no description (more than 10%%): %v", len(missing), len(pairs), missing)
	}
}
