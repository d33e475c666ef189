package ioc

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// realBenchIOCs are values that occur in the test EVTX files, so the
// benchmark also pays for hits and boundary checks, not only misses.
func realBenchIOCs() []IOC {
	return []IOC{
		{Type: TypeFilename, Value: "cmd.exe"},
		{Type: TypeUsername, Value: "IEUser"},
		{Type: TypeSID, Value: "S-1-5-18"},
		{Type: TypeMD5, Value: "975B45B669930B0CC773EAF2B414206F"},
		{Type: TypeHostname, Value: "MSEDGEWIN10"},
		{Type: TypeIP, Value: "10.0.0.0/8"},
		{Type: TypeDomain, Value: "microsoft.com"},
		{Type: TypeCommand, Value: "-nop"},
	}
}

// genIOCs returns n IOCs, deterministic for a given n: the real ones above
// followed by random IPs, CIDRs, hashes, domains, file names and a few of
// every other type, in roughly the mix of a threat-intel feed.
func genIOCs(n int) []IOC {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	word := func(min, max int) string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, min+r.IntN(max-min+1))
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		return string(b)
	}
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[r.IntN(16)]
		}
		return string(b)
	}
	tlds := []string{"com", "net", "org", "ru", "cn", "xyz", "top", "info", "io"}
	exts := []string{"exe", "dll", "ps1", "bat", "vbs", "js", "hta", "scr", "zip", "docm"}
	out := realBenchIOCs()
	for i := 0; len(out) < n; i++ {
		var c IOC
		switch k := i % 100; {
		case k < 23:
			c = IOC{Type: TypeIP, Value: netip.AddrFrom4([4]byte{byte(r.IntN(223) + 1), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}).String()}
		case k < 25:
			c = IOC{Type: TypeIP, Value: fmt.Sprintf("%d.%d.%d.0/%d", r.IntN(223)+1, r.IntN(256), r.IntN(256), 16+r.IntN(9))}
		case k < 27:
			var a [16]byte
			a[0], a[1] = 0x20, 0x01
			for j := 2; j < 16; j++ {
				a[j] = byte(r.IntN(256))
			}
			c = IOC{Type: TypeIP, Value: netip.AddrFrom16(a).String()}
		case k < 37:
			c = IOC{Type: TypeMD5, Value: hex(32)}
		case k < 47:
			c = IOC{Type: TypeSHA1, Value: hex(40)}
		case k < 62:
			c = IOC{Type: TypeSHA256, Value: hex(64)}
		case k < 82:
			c = IOC{Type: TypeDomain, Value: word(4, 14) + "." + tlds[r.IntN(len(tlds))]}
		case k < 92:
			c = IOC{Type: TypeFilename, Value: word(3, 12) + "." + exts[r.IntN(len(exts))]}
		case k < 95:
			c = IOC{Type: TypeUsername, Value: `CORP\` + word(4, 10)}
		case k < 97:
			c = IOC{Type: TypeHostname, Value: "WKS-" + word(4, 8)}
		case k < 98:
			c = IOC{Type: TypeFilepath, Value: `C:\Users\` + word(4, 8) + `\AppData\Local\Temp\` + word(4, 10) + ".exe"}
		case k < 99:
			c = IOC{Type: TypeRegistry, Value: `HKCU\Software\Microsoft\Windows\CurrentVersion\Run\` + word(5, 12)}
		default:
			c = IOC{Type: TypeCommand, Value: "-enc " + word(12, 20)}
		}
		out = append(out, c)
	}
	out = out[:n]
	for i := range out {
		out[i].ID = fmt.Sprintf("i%d", i)
		out[i].Enabled = true
	}
	return out
}

// BenchmarkMatch measures Match per event over real events streamed from
// testdata/evtx (loaded into memory first), with 10, 1,000 and 10,000 IOCs. The
// multi-pattern pass keeps the cost per event nearly flat in the IOC count.
// Besides wall time (ns/op, events/s) it reports the process CPU time per
// event, which a busy shared machine distorts less.
//
//	go test -run '^$' -bench BenchmarkMatch -benchtime 200000x ./engine/ioc/
func BenchmarkMatch(b *testing.B) {
	dir := sharedTestdata(b)
	events := loadEvents(b, dir, 1<<20)
	if len(events) == 0 {
		b.Fatal("no events loaded")
	}
	var bytesPerEvent int64
	for _, ev := range events {
		n := len(ev.Computer) + len(ev.UserID) + len(ev.Provider) + len(ev.Channel)
		for _, f := range ev.Data {
			n += len(f.Value)
		}
		bytesPerEvent += int64(n)
	}
	bytesPerEvent /= int64(len(events))
	b.Logf("%d events, %d value bytes per event on average", len(events), bytesPerEvent)

	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("iocs=%d", n), func(b *testing.B) {
			m, err := Compile(genIOCs(n))
			if err != nil {
				b.Fatal(err)
			}
			var hits []Hit
			total := 0
			b.SetBytes(bytesPerEvent)
			b.ReportAllocs()
			cpu0 := processCPU()
			for i := 0; b.Loop(); i++ {
				hits = m.Match(events[i%len(events)], hits[:0])
				total += len(hits)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
			}
			b.ReportMetric(float64(total)/float64(b.N), "hits/event")
		})
	}
}

// TestGenIOCsValid keeps the benchmark's generated IOCs honest.
func TestGenIOCsValid(t *testing.T) {
	iocs := genIOCs(10000)
	m, err := Compile(iocs)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Len(); got != 10000 {
		t.Errorf("Len: got %d, want 10000", got)
	}
	types := map[Type]int{}
	for _, c := range iocs {
		types[c.Type]++
	}
	if len(types) < 11 || !strings.HasPrefix(iocs[0].ID, "i") {
		t.Errorf("unexpected mix %v", types)
	}
}
