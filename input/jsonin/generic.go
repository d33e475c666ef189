package jsonin

import (
	"strconv"

	"casescope/evtx"
	"casescope/input/tally"
)

// flatten adds v under name: objects as dotted names ("a.b"), array items
// by index ("a.0"), scalars as text. A top-level call with name ""
// flattens an object's members under their own names.
func flatten(ev *evtx.Event, name string, v *value) {
	join := func(k string) string {
		if name == "" {
			return k
		}
		return name + "." + k
	}
	switch v.kind {
	case '{':
		if len(v.members) == 0 && name != "" {
			ev.Data = append(ev.Data, evtx.Field{Name: name, Value: ""})
		}
		for i := range v.members {
			flatten(ev, join(v.members[i].name), &v.members[i].val)
		}
	case '[':
		if len(v.items) == 0 && name != "" {
			ev.Data = append(ev.Data, evtx.Field{Name: name, Value: ""})
		}
		for i := range v.items {
			flatten(ev, join(strconv.Itoa(i)), &v.items[i])
		}
	default:
		s, _ := v.scalar()
		if name == "" {
			name = "value"
		}
		ev.Data = append(ev.Data, evtx.Field{Name: name, Value: s})
	}
}

// genericTimes are the members a generic record's time is taken from,
// in order: ECS and Logstash "@timestamp", Timesketch "datetime" then
// "timestamp" (microseconds), then common names. The first that parses
// wins; numbers are Unix times (unit by magnitude, tally.ParseEpoch).
var genericTimes = []string{"@timestamp", "datetime", "timestamp", "Timestamp", "time", "Time", "TimeCreated",
	"TimeGenerated", "EventTime", "eventTime", "date", "date_time", "ts", "_ts", "created_at", "UtcTime", "unixTime", "calendarTime"}

// genericHosts are the members naming the host a generic record is from.
var genericHosts = [][]string{{"host", "name"}, {"host", "hostname"}, {"hostname"}, {"Hostname"}, {"Computer"},
	{"computer_name"}, {"ComputerName"}, {"DeviceName"}, {"host"}}

// generic maps any other JSON record: every member flattened to dotted
// names, in order; the time and host found by the lists above.
func generic(ev *evtx.Event, v *value) bool {
	ev.Channel = "json"
	flatten(ev, "", v)
	for _, h := range genericHosts {
		if x, ok := v.path(h...); ok {
			if s, ok := x.scalar(); ok && s != "" {
				ev.Computer = s
				break
			}
		}
	}
	for _, n := range genericTimes {
		x, ok := v.get(n)
		if !ok {
			continue
		}
		s, ok := x.scalar()
		if !ok || s == "" {
			continue
		}
		if t, ok := tally.ParseTime(s); ok {
			ev.TimeCreated = t
			return true
		}
	}
	return false
}
