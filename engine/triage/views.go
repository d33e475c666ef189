package triage

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Host is one row of the hosts inventory (JSON contract of
// `casescope hosts --json`).
type Host struct {
	Computer string         `json:"computer"`
	Events   int            `json:"events"`
	First    time.Time      `json:"first"`
	Last     time.Time      `json:"last"`
	Channels map[string]int `json:"channels"`
	// Sigma counts the computer's events with a Sigma hit, by level (an
	// event with hits of two levels counts once under each, as the case's
	// top bar counts).
	Sigma map[string]int `json:"sigma"`
	// IOCHits counts the computer's events with at least one IOC hit.
	IOCHits int `json:"ioc_hits"`
	// LogonSources counts logons to this computer by source workstation
	// name or IP address (4624/4625 WorkstationName and IpAddress, RDP
	// addresses; "-" and LOCAL left out): the machines seen only as
	// sources are found here.
	LogonSources map[string]int `json:"logon_sources"`
}

// HostList lists the summary's computers, most events first. Sigma and IOC
// counts are left empty for the caller, who holds the hits.
func (s *Summary) HostList() []Host {
	out := make([]Host, 0, len(s.Hosts))
	for name, h := range s.Hosts {
		out = append(out, Host{Computer: name, Events: h.Count, First: h.First.UTC(), Last: h.Last.UTC(),
			Channels: cloneCounts(h.Channels), Sigma: map[string]int{}, LogonSources: cloneCounts(h.Sources)})
	}
	slices.SortFunc(out, func(a, b Host) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), strings.Compare(a.Computer, b.Computer))
	})
	return out
}

// Account is one row of the accounts inventory.
type Account struct {
	Account   string         `json:"account"`
	Domain    string         `json:"domain"`
	SID       string         `json:"sid"`
	Events    int            `json:"events"` // events naming the account (subject, target, User, RDP user)
	First     time.Time      `json:"first"`
	Last      time.Time      `json:"last"`
	Computers map[string]int `json:"computers"` // events naming it, by Computer
	// Logons counts its successful logons (4624, as target) by logon
	// type; FailedLogons its failed ones (4625); RDPLogons its RDP
	// events (1149, 21, 22, 25).
	Logons       map[string]int `json:"logons"`
	FailedLogons map[string]int `json:"failed_logons"`
	RDPLogons    int            `json:"rdp_logons"`
	Machine      bool           `json:"machine"`  // name ends in $
	BuiltIn      bool           `json:"built_in"` // well-known SID or NT AUTHORITY-style principal, RID 500/501/503/504
	Local        bool           `json:"local"`    // domain is the short name of a computer it appears on
}

// AccountList lists the summary's accounts, most events first.
func (s *Summary) AccountList() []Account {
	out := make([]Account, 0, len(s.Accounts))
	for k, a := range s.Accounts {
		r := Account{Account: k.Name, Domain: k.Domain, SID: a.SID, Events: a.Count, First: a.First.UTC(), Last: a.Last.UTC(),
			Computers: cloneCounts(a.Computers), Logons: byType(a.Logons), FailedLogons: byType(a.Failures), RDPLogons: a.RDP}
		r.Machine = strings.HasSuffix(k.Name, "$")
		r.BuiltIn = builtIn(k.Name, k.Domain, a.SID)
		if !r.BuiltIn && k.Domain != "" {
			for c := range a.Computers {
				if strings.EqualFold(shortName(c), k.Domain) {
					r.Local = true
					break
				}
			}
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Account) int {
		return cmp.Or(cmp.Compare(b.Events, a.Events), strings.Compare(a.Domain, b.Domain), strings.Compare(a.Account, b.Account))
	})
	return out
}

func byType(m map[int]int) map[string]int {
	out := make(map[string]int, len(m))
	for t, n := range m {
		out[strconv.Itoa(t)] = n
	}
	return out
}

// shortName is a computer's NetBIOS-style name: its first DNS label,
// at most 15 characters.
func shortName(computer string) string {
	if i := strings.IndexByte(computer, '.'); i >= 0 {
		computer = computer[:i]
	}
	if len(computer) > 15 {
		computer = computer[:15]
	}
	return computer
}

// builtInDomains are the authorities of Windows' own service principals.
var builtInDomains = map[string]bool{
	"NT AUTHORITY": true, "WINDOW MANAGER": true, "FONT DRIVER HOST": true, "NT SERVICE": true,
	"NT VIRTUAL MACHINE": true, "IIS APPPOOL": true, "BUILTIN": true,
	// Localised NT AUTHORITY.
	"NT-AUTORITÄT": true, "AUTORITE NT": true, "AUTORIDAD NT": true,
}

func builtIn(name, domain, sid string) bool {
	if builtInDomains[strings.ToUpper(domain)] {
		return true
	}
	switch strings.ToUpper(name) {
	case "SYSTEM", "LOCAL SERVICE", "NETWORK SERVICE", "ANONYMOUS LOGON":
		return true
	}
	switch sid {
	case "S-1-5-18", "S-1-5-19", "S-1-5-20", "S-1-5-7":
		return true
	}
	if strings.HasPrefix(sid, "S-1-5-90-") || strings.HasPrefix(sid, "S-1-5-96-") { // DWM-n, UMFD-n
		return true
	}
	if strings.HasPrefix(sid, "S-1-5-21-") {
		switch sid[strings.LastIndexByte(sid, '-')+1:] {
		case "500", "501", "503", "504": // Administrator, Guest, DefaultAccount, WDAGUtilityAccount
			return true
		}
	}
	return false
}

// Logon is one row of the logon summary (JSON contract of
// `casescope logons --json`): account/domain are TargetUserName and
// TargetDomainName (4624, 4625, 4648), Param1/Param2 (1149) or the two
// halves of User (21/22/25); source_ip and source_computer are IpAddress
// and WorkstationName (4624/4625), IpAddress (4648), Param3 (1149) or
// Address (21/22/25), exactly as recorded.
type Logon struct {
	EventID        uint32    `json:"event_id"`
	Result         string    `json:"result"` // success or failure
	Computer       string    `json:"computer"`
	Account        string    `json:"account"`
	Domain         string    `json:"domain"`
	LogonType      *int      `json:"logon_type"` // null for events without a LogonType (4648, RDP)
	SourceIP       string    `json:"source_ip"`
	SourceComputer string    `json:"source_computer"`
	Count          int       `json:"count"`
	First          time.Time `json:"first"`
	Last           time.Time `json:"last"`
	// Reasons are a failure row's status codes, decoded, most frequent
	// first.
	Reasons []Reason `json:"reasons,omitempty"`
}

// Reason is one failure status of a logon row.
type Reason struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// LogonList lists the summary's logon rows, most events first.
func (s *Summary) LogonList() []Logon {
	out := make([]Logon, 0, len(s.Logons))
	for k, r := range s.Logons {
		l := Logon{EventID: k.EventID, Result: "success", Computer: k.Computer, Account: k.Account, Domain: k.Domain,
			SourceIP: k.SourceIP, SourceComputer: k.SourceComputer, Count: r.Count, First: r.First.UTC(), Last: r.Last.UTC()}
		if !k.Success {
			l.Result = "failure"
		}
		if k.LogonType >= 0 {
			lt := k.LogonType
			l.LogonType = &lt
		}
		for code, n := range r.Reasons {
			l.Reasons = append(l.Reasons, Reason{Code: code, Reason: FailureReason(code), Count: n})
		}
		slices.SortFunc(l.Reasons, func(a, b Reason) int { return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Code, b.Code)) })
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Logon) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.EventID, b.EventID), strings.Compare(a.Computer, b.Computer),
			strings.Compare(a.Account, b.Account), strings.Compare(a.Domain, b.Domain), cmp.Compare(ltOf(a), ltOf(b)),
			strings.Compare(a.SourceIP, b.SourceIP), strings.Compare(a.SourceComputer, b.SourceComputer))
	})
	return out
}

func ltOf(l Logon) int {
	if l.LogonType == nil {
		return -1
	}
	return *l.LogonType
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
