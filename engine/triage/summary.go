package triage

import (
	"strconv"
	"strings"
	"time"

	"casescope/evtx"
)

// Version changes whenever Add changes what it derives, so summaries kept
// by an older build are recomputed rather than merged with newer ones.
const Version = 1

// Span counts events and spans their times.
type Span struct {
	Count int
	First time.Time
	Last  time.Time
}

func (s *Span) add(t time.Time, n int) {
	if s.Count == 0 || t.Before(s.First) {
		s.First = t
	}
	if s.Count == 0 || t.After(s.Last) {
		s.Last = t
	}
	s.Count += n
}

func (s *Span) merge(o Span) {
	if o.Count == 0 {
		return
	}
	s.add(o.First, o.Count)
	s.add(o.Last, 0)
}

// HostAgg is what a summary knows of one Computer.
type HostAgg struct {
	Span
	Channels map[string]int // events by channel
	// Sources counts the logons to this computer by source: the
	// workstation name and the IP address of each 4624/4625 (as recorded,
	// "-" left out), the address of RDP events.
	Sources map[string]int
}

// AccountKey names an account as events record it.
type AccountKey struct {
	Domain string
	Name   string
}

// AccountAgg is what a summary knows of one account.
type AccountAgg struct {
	Span
	SID       string         // first SID recorded with the name (NULL SID S-1-0-0 ignored)
	Computers map[string]int // events naming the account, by Computer
	Logons    map[int]int    // successful logons (4624 target) by logon type
	Failures  map[int]int    // failed logons (4625 target) by logon type
	RDP       int            // RDP logon events (1149, 21, 22, 25) naming it
}

// LogonKey groups logon events: one logon summary row per key.
type LogonKey struct {
	EventID        uint32
	Success        bool
	Computer       string
	Account        string
	Domain         string
	LogonType      int // -1 when the event has no LogonType field
	SourceIP       string
	SourceComputer string
}

// LogonAgg is one logon summary row's counts.
type LogonAgg struct {
	Span
	// Reasons counts failures by status code: 4625's SubStatus, or its
	// Status when SubStatus is 0x0 or absent (lower case hex).
	Reasons map[string]int
}

// EventKey is one event type of a channel.
type EventKey struct {
	EventID  uint32
	Channel  string
	Provider string
}

// Summary is the triage view of a set of events. The zero value is not
// usable; call New.
type Summary struct {
	Version  int
	Events   Span
	Hosts    map[string]*HostAgg
	Accounts map[AccountKey]*AccountAgg
	Logons   map[LogonKey]*LogonAgg
	ByEvent  map[EventKey]int
	// Hours counts events by UTC hour (Unix seconds / 3600, floored).
	Hours map[int64]int
}

// New returns an empty summary.
func New() *Summary {
	return &Summary{
		Version:  Version,
		Hosts:    map[string]*HostAgg{},
		Accounts: map[AccountKey]*AccountAgg{},
		Logons:   map[LogonKey]*LogonAgg{},
		ByEvent:  map[EventKey]int{},
		Hours:    map[int64]int{},
	}
}

// Channels whose event IDs name RDP logons.
const (
	channelSecurity = "security"
	channelRCM      = "microsoft-windows-terminalservices-remoteconnectionmanager/operational"
	channelLSM      = "microsoft-windows-terminalservices-localsessionmanager/operational"
)

// hourOf floors t to its UTC hour, also before 1970.
func hourOf(t time.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s < 0 && s%3600 != 0 {
		h--
	}
	return h
}

// Add folds one event into the summary.
func (s *Summary) Add(ev *evtx.Event) {
	t := ev.TimeCreated
	s.Events.add(t, 1)
	s.ByEvent[EventKey{EventID: ev.EventID, Channel: ev.Channel, Provider: ev.Provider}]++
	s.Hours[hourOf(t)]++
	h := s.host(ev.Computer)
	h.add(t, 1)
	h.Channels[ev.Channel]++

	channel := strings.ToLower(ev.Channel)
	seen := make([]AccountKey, 0, 2)
	note := func(name, domain, sid string) *AccountAgg {
		if name == "" || name == "-" {
			return nil
		}
		k := AccountKey{Domain: domain, Name: name}
		a := s.account(k)
		if sid != "" && sid != "-" && sid != "S-1-0-0" && a.SID == "" {
			a.SID = sid
		}
		for _, o := range seen {
			if o == k {
				return a
			}
		}
		seen = append(seen, k)
		a.add(t, 1)
		a.Computers[ev.Computer]++
		return a
	}
	get := func(name string) string { v, _ := ev.Get(name); return v }
	sid := func(names ...string) string {
		for _, n := range names {
			if v, ok := ev.Get(n); ok {
				return v
			}
		}
		return ""
	}
	note(get("SubjectUserName"), get("SubjectDomainName"), sid("SubjectUserSid"))
	target := note(get("TargetUserName"), get("TargetDomainName"), sid("TargetUserSid", "TargetSid"))
	// Sysmon's and other providers' User is "DOMAIN\name".
	if u, ok := ev.Get("User"); ok {
		d, n := splitUser(u)
		rdp := note(n, d, "")
		if rdp != nil && channel == channelLSM && isLSMLogon(ev.EventID) {
			rdp.RDP++
			s.logon(ev, true, n, d, -1, get("Address"), "")
		}
	}

	switch {
	case channel == channelSecurity && (ev.EventID == 4624 || ev.EventID == 4625):
		ok := ev.EventID == 4624
		lt := logonType(ev)
		ip, ws := get("IpAddress"), get("WorkstationName")
		row := s.logon(ev, ok, get("TargetUserName"), get("TargetDomainName"), lt, ip, ws)
		if target != nil {
			if ok {
				target.Logons[lt]++
			} else {
				target.Failures[lt]++
			}
		}
		for _, src := range []string{ws, ip} {
			if src != "" && src != "-" {
				h.Sources[src]++
			}
		}
		if !ok {
			row.Reasons[FailureCode(get("Status"), get("SubStatus"))]++
		}
	case channel == channelSecurity && ev.EventID == 4648:
		s.logon(ev, true, get("TargetUserName"), get("TargetDomainName"), -1, get("IpAddress"), "")
	case channel == channelRCM && ev.EventID == 1149:
		a := note(get("Param1"), get("Param2"), "")
		if a != nil {
			a.RDP++
		}
		ip := get("Param3")
		s.logon(ev, true, get("Param1"), get("Param2"), -1, ip, "")
		if ip != "" && ip != "-" {
			h.Sources[ip]++
		}
	}
	if channel == channelLSM && isLSMLogon(ev.EventID) {
		if ip := get("Address"); ip != "" && ip != "-" && ip != "LOCAL" {
			h.Sources[ip]++
		}
	}
}

// isLSMLogon reports the LocalSessionManager events of an RDP or console
// logon: 21 logon, 22 shell start, 25 reconnection.
func isLSMLogon(id uint32) bool { return id == 21 || id == 22 || id == 25 }

// splitUser splits "DOMAIN\name"; a value without a backslash is a name.
func splitUser(u string) (domain, name string) {
	if i := strings.IndexByte(u, '\\'); i >= 0 {
		return u[:i], u[i+1:]
	}
	return "", u
}

// logonType reads LogonType; -1 when absent or not a number.
func logonType(ev *evtx.Event) int {
	v, ok := ev.Get("LogonType")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return -1
	}
	return n
}

func (s *Summary) logon(ev *evtx.Event, ok bool, account, domain string, lt int, ip, ws string) *LogonAgg {
	k := LogonKey{EventID: ev.EventID, Success: ok, Computer: ev.Computer, Account: account, Domain: domain,
		LogonType: lt, SourceIP: ip, SourceComputer: ws}
	r := s.Logons[k]
	if r == nil {
		r = &LogonAgg{Reasons: map[string]int{}}
		s.Logons[k] = r
	}
	r.add(ev.TimeCreated, 1)
	return r
}

func (s *Summary) host(name string) *HostAgg {
	h := s.Hosts[name]
	if h == nil {
		h = &HostAgg{Channels: map[string]int{}, Sources: map[string]int{}}
		s.Hosts[name] = h
	}
	return h
}

func (s *Summary) account(k AccountKey) *AccountAgg {
	a := s.Accounts[k]
	if a == nil {
		a = &AccountAgg{Computers: map[string]int{}, Logons: map[int]int{}, Failures: map[int]int{}}
		s.Accounts[k] = a
	}
	return a
}

// Merge adds o's counts to s.
func (s *Summary) Merge(o *Summary) {
	s.Events.merge(o.Events)
	for k, n := range o.ByEvent {
		s.ByEvent[k] += n
	}
	for k, n := range o.Hours {
		s.Hours[k] += n
	}
	for name, oh := range o.Hosts {
		h := s.host(name)
		h.merge(oh.Span)
		addCounts(h.Channels, oh.Channels)
		addCounts(h.Sources, oh.Sources)
	}
	for k, oa := range o.Accounts {
		a := s.account(k)
		a.merge(oa.Span)
		if a.SID == "" {
			a.SID = oa.SID
		}
		addCounts(a.Computers, oa.Computers)
		addCounts(a.Logons, oa.Logons)
		addCounts(a.Failures, oa.Failures)
		a.RDP += oa.RDP
	}
	for k, ol := range o.Logons {
		r := s.Logons[k]
		if r == nil {
			r = &LogonAgg{Reasons: map[string]int{}}
			s.Logons[k] = r
		}
		r.merge(ol.Span)
		addCounts(r.Reasons, ol.Reasons)
	}
}

func addCounts[K comparable](dst, src map[K]int) {
	for k, n := range src {
		dst[k] += n
	}
}
