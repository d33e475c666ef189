package query

import (
	"iter"
	"strings"
	"unicode/utf8"
)

// Index field names, as declared in store/index.go. They are repeated here
// because package store imports this package (its search code parses
// queries), so this package cannot import store; the in-memory index test
// checks that the names agree with store.Mapping().
const (
	fieldTime        = "time"
	fieldEventID     = "event_id"
	fieldRecordID    = "record_id"
	fieldLevel       = "level"
	fieldChannel     = "channel"
	fieldProvider    = "provider"
	fieldComputer    = "computer"
	fieldFile        = "file"
	fieldKV          = "kv"
	fieldText        = "text"
	fieldUser        = "user"
	fieldSigmaRule   = "sigma.rule"
	fieldSigmaTitle  = "sigma.title"
	fieldSigmaLevel  = "sigma.level"
	fieldSigmaMax    = "sigma.max"
	fieldSigmaPack   = "sigma.pack"
	fieldIOC         = "ioc"
	fieldIOCType     = "ioc.type"
	fieldIOCCount    = "ioc.count"
	fieldTag         = "tag"
	fieldStarred     = "starred"
	fieldTimeInvalid = "time_invalid"
	fieldRecovered   = "recovered"
	// systemKV prefixes the kv keys of the System fields that have no
	// keyword field (store.appendSystemKV).
	systemKV = "system."
)

// fieldKind says how values of a field are matched.
type fieldKind int

const (
	kindData       fieldKind = iota // event data: "name=value" tokens in kv
	kindKeyword                     // lower-cased keyword field
	kindNumeric                     // numeric field
	kindLevel                       // numeric Windows level; also takes names (error, warning, …)
	kindSigmaMax                    // numeric Sigma rank; also takes Sigma level names
	kindSigmaLevel                  // keyword; comparisons go to sigma.max
	kindTime                        // datetime
)

// fieldSpec is a resolved field name.
type fieldSpec struct {
	kind    fieldKind
	index   string // index field; for kindData the kv key (lower-cased leaf name)
	display string // name shown in messages and Info
}

// systemField resolves a system alias (lower-cased name).
func systemField(lower string) (fieldSpec, bool) {
	switch lower {
	case "eventid", "event_id", "eid", "id":
		return fieldSpec{kindNumeric, fieldEventID, "EventID"}, true
	case "eventrecordid", "record_id", "recordid":
		return fieldSpec{kindNumeric, fieldRecordID, "EventRecordID"}, true
	case "level":
		return fieldSpec{kindLevel, fieldLevel, "Level"}, true
	case "channel":
		return fieldSpec{kindKeyword, fieldChannel, "Channel"}, true
	case "provider", "provider_name", "source":
		return fieldSpec{kindKeyword, fieldProvider, "Provider"}, true
	case "computer", "computername", "host", "hostname":
		return fieldSpec{kindKeyword, fieldComputer, "Computer"}, true
	case "time", "@timestamp", "timecreated", "timestamp":
		return fieldSpec{kindTime, fieldTime, "time"}, true
	case "file":
		return fieldSpec{kindKeyword, fieldFile, "file"}, true
	case "user", "userid", "security_userid":
		return fieldSpec{kindKeyword, fieldUser, "user"}, true
	case "sigma", "sigma.rule":
		return fieldSpec{kindKeyword, fieldSigmaRule, "sigma.rule"}, true
	case "sigma.title":
		return fieldSpec{kindKeyword, fieldSigmaTitle, "sigma.title"}, true
	case "sigma.level":
		return fieldSpec{kindSigmaLevel, fieldSigmaLevel, "sigma.level"}, true
	case "sigma.max":
		return fieldSpec{kindSigmaMax, fieldSigmaMax, "sigma.max"}, true
	case "sigma.pack":
		return fieldSpec{kindKeyword, fieldSigmaPack, "sigma.pack"}, true
	case "ioc":
		return fieldSpec{kindKeyword, fieldIOC, "ioc"}, true
	case "ioc.type":
		return fieldSpec{kindKeyword, fieldIOCType, "ioc.type"}, true
	case "ioc.count":
		return fieldSpec{kindNumeric, fieldIOCCount, "ioc.count"}, true
	case "tag", "tags":
		return fieldSpec{kindKeyword, fieldTag, "tag"}, true
	case "starred":
		return fieldSpec{kindKeyword, fieldStarred, "starred"}, true
	case "time_invalid":
		return fieldSpec{kindKeyword, fieldTimeInvalid, "time_invalid"}, true
	case "recovered":
		return fieldSpec{kindKeyword, fieldRecovered, "recovered"}, true
	}
	if name, ok := systemKVField(lower); ok {
		return fieldSpec{kindData, systemKV + strings.ToLower(name), name}, true
	}
	return fieldSpec{}, false
}

// systemKVField resolves the names of the System fields indexed as kv
// terms: the Windows name (ActivityID), its XML path (Correlation.
// ActivityID) or "System." and the name. ProcessID and Version alone are
// event data (Sysmon's ProcessId), so the System ones are typed
// System.ProcessID or Execution.ProcessID, System.Version.
func systemKVField(lower string) (string, bool) {
	switch lower {
	case "qualifiers", "eventid.qualifiers", "system.qualifiers":
		return "Qualifiers", true
	case "task", "system.task":
		return "Task", true
	case "opcode", "system.opcode":
		return "Opcode", true
	case "keywords", "system.keywords":
		return "Keywords", true
	case "providerguid", "provider.guid", "provider_guid", "system.providerguid":
		return "ProviderGUID", true
	case "eventsourcename", "provider.eventsourcename", "event_source_name", "system.eventsourcename":
		return "EventSourceName", true
	case "activityid", "correlation.activityid", "activity_id", "system.activityid":
		return "ActivityID", true
	case "relatedactivityid", "correlation.relatedactivityid", "related_activity_id", "system.relatedactivityid":
		return "RelatedActivityID", true
	case "threadid", "execution.threadid", "thread_id", "system.threadid":
		return "ThreadID", true
	case "execution.processid", "process_id", "system.processid":
		return "ProcessID", true
	case "system.version":
		return "Version", true
	}
	return "", false
}

// systemNames are the canonical spellings offered as suggestions and by
// KnownFields (the aliases above resolve to them).
const systemNames = "EventID\nEventRecordID\nLevel\nChannel\nProvider\nComputer\ntime\nfile\nuser\n" +
	"sigma.rule\nsigma.title\nsigma.level\nsigma.max\nioc\nioc.type\nioc.count\ntag\nstarred\ntime_invalid\nrecovered\n" +
	"Qualifiers\nSystem.Version\nTask\nOpcode\nKeywords\nProviderGUID\nEventSourceName\nSystem.ProcessID\nThreadID\n" +
	"ActivityID\nRelatedActivityID\n"

// leafName returns the part of a data field name after its last dot: the
// index keys UserData paths ("LogFileCleared.SubjectUserName") by leaf.
func leafName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 && i < len(name)-1 {
		return name[i+1:]
	}
	return name
}

// knownData returns the canonical spelling of a known event data field
// name, matched case-insensitively, and with spaces ignored when there is
// no exact match (so ThreatName finds Defender's "Threat Name").
func knownData(name string) (string, bool) {
	key := strings.ToLower(name)
	if c, ok := lookupTable(knownFields, key); ok {
		return c, true
	}
	return lookupTable(knownFieldAliases, key)
}

// lookupTable finds key in a "\nkey\tvalue\n…" table.
func lookupTable(table, key string) (string, bool) {
	if key == "" || strings.ContainsAny(key, "\t\n") {
		return "", false
	}
	i := strings.Index(table, "\n"+key+"\t")
	if i < 0 {
		return "", false
	}
	rest := table[i+len(key)+2:]
	if j := strings.IndexByte(rest, '\n'); j >= 0 {
		rest = rest[:j]
	}
	return rest, true
}

// tableEntries yields the (lower-cased key, canonical name) pairs of a
// table.
func tableEntries(table string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for line := range strings.Lines(table) {
			k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
			if ok && !yield(k, v) {
				return
			}
		}
	}
}

// resolveField maps a field name as typed to its spec. ok is false only
// for an unknown data field name (which is still usable unless Strict).
func resolveField(name string) (spec fieldSpec, known bool) {
	if s, ok := systemField(strings.ToLower(name)); ok {
		return s, true
	}
	leaf := leafName(name)
	canon, ok := knownData(leaf)
	if !ok {
		canon = leaf
	}
	return fieldSpec{kind: kindData, index: strings.ToLower(canon), display: canon}, ok
}

// KnownField reports whether name (case-insensitive) is a system alias
// (EventID, host, sigma.level, …) or a known Windows/Sysmon event data
// field name: exactly the names Parse accepts with Options.Strict. For a
// dotted UserData path the leaf name is checked.
func KnownField(name string) bool {
	_, known := resolveField(name)
	return known
}

// KnownFields returns the canonical system field names followed by the
// known event data field names (sorted case-insensitively), for
// autocompletion. The slice is new on every call.
func KnownFields() []string {
	out := strings.Split(strings.TrimSuffix(systemNames, "\n"), "\n")
	for _, name := range tableEntries(knownFields) {
		out = append(out, name)
	}
	return out
}

// suggest returns the known name closest to name by edit distance
// (case-insensitive), or "" when nothing is close enough to be a typo.
func suggest(name string) string {
	lower := strings.ToLower(name)
	limit := min(3, max(1, utf8.RuneCountInString(lower)/3))
	best, bestD := "", limit+1
	try := func(key, cand string) {
		if d := editDistance(lower, key, bestD); d < bestD {
			best, bestD = cand, d
		}
	}
	for line := range strings.Lines(systemNames) {
		cand := strings.TrimSuffix(line, "\n")
		try(strings.ToLower(cand), cand)
	}
	for key, cand := range tableEntries(knownFields) {
		try(key, cand)
	}
	return best
}

// editDistance is the Levenshtein distance between a and b in runes; it
// returns early with a value ≥ bound once the distance must reach bound.
func editDistance(a, b string, bound int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= bound || -d >= bound {
		return bound
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= bound {
			return bound
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
