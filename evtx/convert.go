package evtx

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Velocidex/ordereddict"
	vevtx "www.velocidex.com/golang/evtx"
)

// hexInt32Names are EventData fields that Windows manifests commonly
// declare as win:HexInt32. They decide only when a record's own
// substitution types are ambiguous (see recordInfo.isHex).
var hexInt32Names = map[string]bool{
	"Status": true, "SubStatus": true, "AccessMask": true, "TicketOptions": true,
	"TicketEncryptionType": true, "ResultCode": true, "FinalStatus": true,
	"FailureCode": true, "ErrorCode": true, "ReturnCode": true,
	"OldUacValue": true, "NewUacValue": true,
}

// windowsEpochOffset is the number of 100 ns ticks between 1601-01-01 and
// 1970-01-01.
const windowsEpochOffset = 116444736000000000

func filetime(ft uint64) time.Time {
	if ft < windowsEpochOffset {
		return time.Unix(0, 0).UTC()
	}
	t := ft - windowsEpochOffset
	return time.Unix(int64(t/1e7), int64(t%1e7)*100).UTC()
}

// convert flattens one parsed record. ok is false when the record holds no
// Event element at all.
func convert(rec *vevtx.EventRecord, ri *recordInfo) (*Event, bool) {
	root, ok := rec.Event.(*ordereddict.Dict)
	if !ok {
		return nil, false
	}
	evAny, ok := root.Get("Event")
	if !ok {
		return nil, false
	}
	evd, ok := evAny.(*ordereddict.Dict)
	if !ok {
		return nil, false
	}
	ev := &Event{RecordID: rec.Header.RecordID}
	if sys, ok := dict(evd, "System"); ok {
		fillSystem(ev, sys, rec.Header.FileTime, ri)
	} else {
		ev.TimeCreated = filetime(rec.Header.FileTime)
	}
	if ed, ok := evd.Get("EventData"); ok {
		ri.flattenEventData(ev, ed)
	}
	if ud, ok := dict(evd, "UserData"); ok {
		for _, k := range ud.Keys() {
			v, _ := ud.Get(k)
			ev.UserDataElement = k
			if d, ok := v.(*ordereddict.Dict); ok {
				ri.flattenDict(ev, "", d)
			} else {
				ev.Data = append(ev.Data, Field{Name: k, Value: ri.render(k, v)})
			}
			break
		}
	}
	return ev, true
}

func dict(d *ordereddict.Dict, key string) (*ordereddict.Dict, bool) {
	v, ok := d.Get(key)
	if !ok {
		return nil, false
	}
	r, ok := v.(*ordereddict.Dict)
	return r, ok
}

func fillSystem(ev *Event, sys *ordereddict.Dict, headerFT uint64, ri *recordInfo) {
	if p, ok := dict(sys, "Provider"); ok {
		if v, ok := p.Get("Name"); ok {
			ev.Provider = ri.render("", v)
		}
		if ev.Provider == "" {
			if v, ok := p.Get("EventSourceName"); ok {
				ev.Provider = ri.render("", v)
			}
		}
	}
	if v, ok := sys.Get("EventID"); ok {
		if d, ok := v.(*ordereddict.Dict); ok {
			v, _ = d.Get("Value")
		}
		ev.EventID = uint32(toUint(v))
	}
	ev.Version = uint8(getUint(sys, "Version"))
	ev.Level = uint8(getUint(sys, "Level"))
	ev.Task = uint16(getUint(sys, "Task"))
	ev.Opcode = uint8(getUint(sys, "Opcode"))
	if v, ok := sys.Get("Keywords"); ok {
		ev.Keywords = "0x" + strconv.FormatUint(toUint(v), 16)
	}
	if v, ok := sys.Get("EventRecordID"); ok {
		if id := toUint(v); id != 0 {
			ev.RecordID = id
		}
	}
	if x, ok := dict(sys, "Execution"); ok {
		ev.ProcessID = uint32(getUint(x, "ProcessID"))
		ev.ThreadID = uint32(getUint(x, "ThreadID"))
	}
	if v, ok := sys.Get("Channel"); ok {
		ev.Channel = ri.render("", v)
	}
	if v, ok := sys.Get("Computer"); ok {
		ev.Computer = ri.render("", v)
	}
	if s, ok := dict(sys, "Security"); ok {
		if v, ok := s.Get("UserID"); ok {
			ev.UserID = ri.render("", v)
		}
	}
	ev.TimeCreated = filetime(headerFT)
	if tc, ok := dict(sys, "TimeCreated"); ok {
		if v, ok := tc.Get("SystemTime"); ok {
			ev.TimeCreated = ri.systemTime(v, headerFT)
		}
	}
}

// systemTime converts the parser's TimeCreated (a float of Unix seconds,
// which cannot hold 100 ns precision) to a time. When it agrees with the
// record header's exact FILETIME to within a microsecond the exact header
// value is used; otherwise the float is rounded to the microsecond.
func (ri *recordInfo) systemTime(v any, headerFT uint64) time.Time {
	switch t := v.(type) {
	case float64:
		if ri.created != 0 && ftFloat(ri.created) == t {
			return filetime(ri.created)
		}
		exact := filetime(headerFT)
		sec, frac := math.Modf(t)
		approx := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
		if d := approx.Sub(exact); d < 2*time.Microsecond && d > -2*time.Microsecond {
			return exact
		}
		return approx
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z", "2006-01-02 15:04:05.999999999"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC()
			}
		}
	}
	return filetime(headerFT)
}

func getUint(d *ordereddict.Dict, key string) uint64 {
	v, ok := d.Get(key)
	if !ok {
		return 0
	}
	return toUint(v)
}

func toUint(v any) uint64 {
	switch n := v.(type) {
	case uint8:
		return uint64(n)
	case uint16:
		return uint64(n)
	case uint32:
		return uint64(n)
	case uint64:
		return n
	case int8:
		return uint64(n)
	case int16:
		return uint64(n)
	case int32:
		return uint64(n)
	case int64:
		return uint64(n)
	case int:
		return uint64(n)
	case float64:
		return uint64(n)
	case string:
		s := strings.TrimSpace(n)
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			u, _ := strconv.ParseUint(s[2:], 16, 64)
			return u
		}
		u, _ := strconv.ParseUint(s, 10, 64)
		return u
	}
	return 0
}

// flattenEventData handles the shapes the parser produces for EventData:
// a normalised name→value dict, a dict holding "Data" as a list of
// {Name, Value} dicts (when normalisation gave up), a list or single value
// of unnamed <Data>, and other child elements (Binary, nested XML).
func (ri *recordInfo) flattenEventData(ev *Event, ed any) {
	d, ok := ed.(*ordereddict.Dict)
	if !ok {
		if ed != nil {
			ev.addUnnamed(ri.render("Data", ed))
		}
		return
	}
	for _, k := range d.Keys() {
		v, _ := d.Get(k)
		if k != "Data" {
			if sub, ok := v.(*ordereddict.Dict); ok {
				ri.flattenDict(ev, k+".", sub)
				continue
			}
			ev.Data = append(ev.Data, Field{Name: k, Value: ri.render(k, v)})
			continue
		}
		switch dv := v.(type) {
		case []any:
			for _, item := range dv {
				ev.addDataItem(ri, item)
			}
		default:
			ev.addDataItem(ri, dv)
		}
	}
}

func (e *Event) addDataItem(ri *recordInfo, item any) {
	if m, ok := item.(*ordereddict.Dict); ok {
		if n, ok := m.Get("Name"); ok {
			name := ri.render("", n)
			v, _ := m.Get("Value")
			e.Data = append(e.Data, Field{Name: name, Value: ri.render(name, v)})
			return
		}
		// A <Data> without a Name attribute but with nested content.
		v, _ := m.Get("Value")
		e.addUnnamed(ri.render("Data", v))
		return
	}
	e.addUnnamed(ri.render("Data", item))
}

func (e *Event) addUnnamed(v string) {
	n := 0
	for _, f := range e.Data {
		if f.Name == "Data" || strings.HasPrefix(f.Name, "Data_") {
			n++
		}
	}
	name := "Data"
	if n > 0 {
		name = "Data_" + strconv.Itoa(n)
	}
	e.Data = append(e.Data, Field{Name: name, Value: v})
}

func (ri *recordInfo) flattenDict(ev *Event, prefix string, d *ordereddict.Dict) {
	for _, k := range d.Keys() {
		if strings.HasPrefix(k, "xmlns") {
			continue // namespace declarations are XML plumbing, not data
		}
		v, _ := d.Get(k)
		if sub, ok := v.(*ordereddict.Dict); ok {
			ri.flattenDict(ev, prefix+k+".", sub)
			continue
		}
		ev.Data = append(ev.Data, Field{Name: prefix + k, Value: ri.render(k, v)})
	}
}

// render turns a parser value into its string form (see doc.go).
func (ri *recordInfo) render(name string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if n, ok := ri.sizeT[x]; ok && x != "" {
			return "0x" + strconv.FormatUint(n, 16)
		}
		return x
	case uint8:
		return strconv.FormatUint(uint64(x), 10)
	case uint16:
		return strconv.FormatUint(uint64(x), 10)
	case uint32:
		if ri.isHex(uint64(x), hexInt32Names[name]) {
			return "0x" + strconv.FormatUint(uint64(x), 16)
		}
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		if ri.isHex(x, true) {
			return "0x" + strconv.FormatUint(x, 16)
		}
		return strconv.FormatUint(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32)
	case float64:
		for _, ft := range ri.filetimes {
			if ftFloat(ft) == x {
				return filetime(ft).Format("2006-01-02T15:04:05.0000000Z")
			}
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []byte:
		return strings.ToUpper(hex.EncodeToString(x))
	case []string:
		return joinNonEmpty(x)
	case []uint16:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.FormatUint(uint64(n), 10)
		}
		return strings.Join(parts, ", ")
	case []uint64:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.FormatUint(n, 10)
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, 0, len(x))
		for _, it := range x {
			parts = append(parts, ri.render(name, it))
		}
		return joinNonEmpty(parts)
	case *ordereddict.Dict:
		var b strings.Builder
		for i, k := range x.Keys() {
			if i > 0 {
				b.WriteString(", ")
			}
			sv, _ := x.Get(k)
			b.WriteString(k)
			b.WriteString("=")
			b.WriteString(ri.render(k, sv))
		}
		return b.String()
	}
	return ""
}

func joinNonEmpty(parts []string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// ftFloat repeats the Velocidex parser's FILETIME to float conversion, so a
// float it returned can be matched to the exact FILETIME it came from.
func ftFloat(ft uint64) float64 {
	return (float64(ft) - 11644473600000*10000) / 10000000
}

// isHex decides whether an unsigned integer the parser returned was a
// HexInt32/HexInt64 substitution: by the declared types of the record's
// substitutions holding that value, and when those are ambiguous (the same
// value under both kinds, or not found) by the fallback.
func (ri *recordInfo) isHex(v uint64, fallback bool) bool {
	h, d := ri.hex[v], ri.dec[v]
	switch {
	case h && !d:
		return true
	case d && !h:
		return false
	}
	return fallback
}
