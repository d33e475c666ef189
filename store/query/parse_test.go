package query_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	bq "github.com/blevesearch/bleve/v2/search/query"

	"casescope/store/query"
)

// now anchors relative times in the tests.
var testNow = time.Date(2024, 5, 20, 10, 0, 0, 0, time.UTC)

// Expected-query builders, written against Bleve's constructors so the
// expectations do not reuse the code under test.

func term(field, t string) bq.Query {
	q := bq.NewTermQuery(t)
	q.SetField(field)
	return q
}

func wild(field, w string) bq.Query {
	q := bq.NewWildcardQuery(w)
	q.SetField(field)
	return q
}

func re(field, r string) bq.Query {
	q := bq.NewRegexpQuery(r)
	q.SetField(field)
	return q
}

// intWidth is the zero-padded width of the integer keyword fields (the
// index stores event_id 4624 as "04624").
var intWidth = map[string]int{"event_id": 5, "record_id": 20, "level": 3}

func numRange(field string, lo, hi *float64, loIncl, hiIncl bool) bq.Query {
	if w, ok := intWidth[field]; ok {
		// Integer keyword fields: exact values are terms, ranges are
		// inclusive term ranges over the padded form.
		l, h := 0.0, 1.0
		for i := 0; i < w; i++ {
			h *= 10
		}
		h--
		if lo != nil && *lo > l {
			l = *lo
			if !loIncl {
				l++
			}
		}
		if hi != nil {
			h = *hi
			if !hiIncl {
				h--
			}
		}
		ls, hs := fmt.Sprintf("%0*d", w, int64(l)), fmt.Sprintf("%0*d", w, int64(h))
		if ls == hs {
			return term(field, ls)
		}
		t := true
		q := bq.NewTermRangeInclusiveQuery(ls, hs, &t, &t)
		q.SetField(field)
		return q
	}
	q := bq.NewNumericRangeInclusiveQuery(lo, hi, &loIncl, &hiIncl)
	q.SetField(field)
	return q
}

func f(v float64) *float64 { return &v }

func num(field string, v float64) bq.Query { return numRange(field, f(v), f(v), true, true) }

func date(start, end string, startIncl, endIncl bool) bq.Query {
	var s, e time.Time
	if start != "" {
		s, _ = time.Parse(time.RFC3339Nano, start)
	}
	if end != "" {
		e, _ = time.Parse(time.RFC3339Nano, end)
	}
	q := bq.NewDateRangeInclusiveQuery(s, e, &startIncl, &endIncl)
	q.SetField("time")
	return q
}

func conj(qs ...bq.Query) bq.Query { return bq.NewConjunctionQuery(qs) }
func disj(qs ...bq.Query) bq.Query { return bq.NewDisjunctionQuery(qs) }
func boolean(must, mustNot []bq.Query) bq.Query {
	return bq.NewBooleanQuery(must, nil, mustNot)
}
func qs(q ...bq.Query) []bq.Query { return q }

// free is what a bare word becomes.
func free(word, kv string) bq.Query {
	m := bq.NewMatchQuery(word)
	m.SetField("text")
	m.SetOperator(bq.MatchQueryOperatorAnd)
	low := strings.ToLower(word)
	return disj(m, wild("computer", "*"+low+"*"), wild("channel", "*"+low+"*"), wild("provider", "*"+low+"*"),
		wild("kv", kv), wild("sigma.title", "*"+low+"*"))
}

// freeSys is free() for a word that is also a System number or level
// name: the exact terms come after the names.
func freeSys(word, kv string, sys ...bq.Query) bq.Query {
	m := bq.NewMatchQuery(word)
	m.SetField("text")
	m.SetOperator(bq.MatchQueryOperatorAnd)
	low := strings.ToLower(word)
	qs := []bq.Query{m, wild("computer", "*"+low+"*"), wild("channel", "*"+low+"*"), wild("provider", "*"+low+"*")}
	qs = append(qs, sys...)
	return disj(append(qs, wild("kv", kv), wild("sigma.title", "*"+low+"*"))...)
}

func jsonOf(t *testing.T, q bq.Query) string {
	t.Helper()
	b, err := json.Marshal(q)
	if err != nil {
		t.Fatalf("marshal %T: %v", q, err)
	}
	return string(b)
}

func TestParse(t *testing.T) {
	phrase := bq.NewMatchPhraseQuery("Invoke Mimikatz")
	phrase.SetField("text")
	tests := []struct {
		name, q string
		want    bq.Query
	}{
		{"empty", "", bq.NewMatchAllQuery()},
		{"blank", "  \t", bq.NewMatchAllQuery()},
		{"star", "*", bq.NewMatchAllQuery()},
		{"lucene match all", "*:*", bq.NewMatchAllQuery()},
		{"event id numeric", "EventID:4624", num("event_id", 4624)},
		{"alias eid lower", "eid:4624", num("event_id", 4624)},
		{"alias id", "ID:4624", num("event_id", 4624)},
		{"hex number", "EventID:0x1210", num("event_id", 4624)},
		{"quoted number", `event_id:"4624"`, num("event_id", 4624)},
		{"record id", "EventRecordID:42", num("record_id", 42)},
		{"analyst example", "EventID:4624 host:HOST-7 IpAddress:10.1.2.3 time:2024-05-14",
			conj(num("event_id", 4624), term("computer", "host-7"), term("kv", "ipaddress=10.1.2.3"),
				date("2024-05-14T00:00:00Z", "2024-05-15T00:00:00Z", true, false))},
		{"computer aliases", "hostname:WS01 Computer:ws02", conj(term("computer", "ws01"), term("computer", "ws02"))},
		{"provider aliases", "Provider_Name:Microsoft-Windows-Security-Auditing source:EventLog",
			conj(term("provider", "microsoft-windows-security-auditing"), term("provider", "eventlog"))},
		{"channel with slash", "Channel:Microsoft-Windows-Sysmon/Operational", term("channel", "microsoft-windows-sysmon/operational")},
		{"data wildcard", "TargetUserName:admin*", wild("kv", "targetusername=admin*")},
		{"data wildcard case", "targetusername:ADMIN*", wild("kv", "targetusername=admin*")},
		{"data contains", "CommandLine:*mimikatz*", wild("kv", "commandline=*mimikatz*")},
		{"data question mark", "TargetUserName:adm?n", wild("kv", "targetusername=adm?n")},
		{"data exact quoted path", `Image:"C:\Windows\cmd.exe"`, term("kv", `image=c:\windows\cmd.exe`)},
		{"data exact unquoted path", `Image:C:\Windows\cmd.exe`, term("kv", `image=c:\windows\cmd.exe`)},
		{"double backslash is one", `Image:C:\\Windows\\cmd.exe`, term("kv", `image=c:\windows\cmd.exe`)},
		{"quoted star is literal", `CommandLine:"a*b"`, term("kv", "commandline=a*b")},
		{"escaped star with wildcard", `CommandLine:*a\*b*`, re("kv", `commandline=.*a\*b.*`)},
		{"escaped space", `Threat\ Name:x`, term("kv", "threat name=x")},
		{"quoted field name", `"Threat Name":HackTool*`, wild("kv", "threat name=hacktool*")},
		{"squashed field name", `ThreatName:x`, term("kv", "threat name=x")},
		{"userdata path leaf", `LogFileCleared.SubjectUserName:bob`, term("kv", "subjectusername=bob")},
		{"data number is term", "LogonType:3", term("kv", "logontype=3")},
		{"data exists", "CommandLine:*", wild("kv", "commandline=*")},
		{"data empty", `CommandLine:""`, boolean(nil, qs(wild("kv", "commandline=*")))},
		{"data regexp", "CommandLine:/.*whoami.*/", re("kv", "commandline=(?i:.*whoami.*)")},
		{"data group", "LogonType:(3 OR 10)", disj(term("kv", "logontype=3"), term("kv", "logontype=10"))},
		{"numeric group", "EventID:(4624 OR 4625 -4634)",
			disj(num("event_id", 4624), boolean(qs(num("event_id", 4625)), qs(num("event_id", 4634))))},
		{"user field", `User:"NT AUTHORITY\SYSTEM"`, term("user", `nt authority\system`)},
		{"file", "file:12", term("file", "12")},
		{"sigma", "sigma:ABC-123", term("sigma.rule", "abc-123")},
		{"sigma has any", "sigma:*", wild("sigma.rule", "*")},
		{"ioc has any", "ioc:*", wild("ioc", "*")},
		{"tag has any", "tag:*", wild("tag", "*")},
		{"sigma title", `sigma.title:"Mimikatz Use"`, term("sigma.title", "mimikatz use")},
		{"sigma level", "sigma.level:HIGH", term("sigma.level", "high")},
		{"sigma level compare", "sigma.level:>=high", numRange("sigma.max", f(4), nil, true, true)},
		{"sigma level range", "sigma.level:[low TO high}", numRange("sigma.max", f(2), f(4), true, false)},
		{"sigma max", "sigma.max:>3", numRange("sigma.max", f(3), nil, false, true)},
		{"ioc count", "ioc.count:>=1", numRange("ioc.count", f(1), nil, true, true)},
		{"ioc type", "ioc.type:SHA256", term("ioc.type", "sha256")},
		{"starred", "starred:true", term("starred", "true")},
		{"level name", "level:error", num("level", 2)},
		{"level info", "Level:information", disj(num("level", 0), num("level", 4))},
		{"numeric exists", "EventID:*", numRange("event_id", f(-math.MaxFloat64), nil, true, false)},
		{"range inclusive", "EventID:[4624 TO 4634]", numRange("event_id", f(4624), f(4634), true, true)},
		{"range exclusive", "EventID:{4624 TO 4634}", numRange("event_id", f(4624), f(4634), false, false)},
		{"range mixed", "EventID:[4624 to 4634}", numRange("event_id", f(4624), f(4634), true, false)},
		{"range open", "EventID:[4624 TO *]", numRange("event_id", f(4624), nil, true, true)},
		{"range all open", "EventID:[* TO *]", numRange("event_id", f(-math.MaxFloat64), nil, true, false)},
		{"compare lt", "EventID:<10", numRange("event_id", nil, f(10), true, false)},
		{"compare le", "EventID:<=10", numRange("event_id", nil, f(10), true, true)},
		{"time day", "time:2019-03-01", date("2019-03-01T00:00:00Z", "2019-03-02T00:00:00Z", true, false)},
		{"time alias", "@timestamp:2019-03", date("2019-03-01T00:00:00Z", "2019-04-01T00:00:00Z", true, false)},
		{"time range", "time:[2019-01-01 TO 2019-01-02T12:00:00Z]",
			date("2019-01-01T00:00:00Z", "2019-01-02T12:00:01Z", true, false)},
		{"time range day upper inclusive", "TimeCreated:[2019-01-01 TO 2019-01-02]",
			date("2019-01-01T00:00:00Z", "2019-01-03T00:00:00Z", true, false)},
		{"time range exclusive", "time:{2019-01-01 TO 2019-01-03}",
			date("2019-01-02T00:00:00Z", "2019-01-03T00:00:00Z", true, false)},
		{"time after day", "time:>2019-03-01", date("2019-03-02T00:00:00Z", "", true, false)},
		{"time from day", "time:>=2019-03-01", date("2019-03-01T00:00:00Z", "", true, false)},
		{"time before", "time:<2019-03-01T10:00", date("", "2019-03-01T10:00:00Z", true, false)},
		{"time until", "time:<=2019-03-01T10:00", date("", "2019-03-01T10:01:00Z", true, false)},
		{"time offset", "time:>=2019-03-01T12:00:00+02:00", date("2019-03-01T10:00:00Z", "", true, false)},
		{"time quoted space", `time:"2019-03-01 12:00:00"`, date("2019-03-01T12:00:00Z", "2019-03-01T12:00:01Z", true, false)},
		{"time fraction exact", "time:2019-03-01T12:00:00.5Z", date("2019-03-01T12:00:00.5Z", "2019-03-01T12:00:00.5Z", true, true)},
		{"time relative", "time:>now-24h", date("2024-05-19T10:00:00Z", "", false, false)},
		{"time relative days", "time:[now-7d TO now]", date("2024-05-13T10:00:00Z", "2024-05-20T10:00:00Z", true, true)},
		{"time today", "time:today", date("2024-05-20T00:00:00Z", "2024-05-21T00:00:00Z", true, false)},
		{"time exists", "time:*", bq.NewMatchAllQuery()},
		{"free word", "mimikatz", free("mimikatz", "*=*mimikatz*")},
		{"free word case", "Mimikatz", free("Mimikatz", "*=*mimikatz*")},
		{"free name=value", "LogonType=3", free("LogonType=3", "*logontype=3*")},
		{"free phrase", `"Invoke Mimikatz"`, disj(phrase, wild("computer", "*invoke mimikatz*"), wild("channel", "*invoke mimikatz*"),
			wild("provider", "*invoke mimikatz*"), wild("kv", "*=*invoke mimikatz*"), wild("sigma.title", "*invoke mimikatz*"))},
		{"free wildcard", "mimi*", disj(wild("text", "mimi*"), wild("computer", "mimi*"), wild("channel", "mimi*"),
			wild("provider", "mimi*"), wild("kv", "*=*mimi**"), wild("sigma.title", "*mimi**"))},
		// Chainsaw's "search 4624": the event ID (and record ID) too.
		{"free event id", "4624", freeSys("4624", "*=*4624*", term("event_id", "04624"), term("record_id", "00000000000000004624"))},
		{"free small number", "4", freeSys("4", "*=*4*", term("event_id", "00004"), term("record_id", "00000000000000000004"), term("level", "004"))},
		{"free level name", "Warning", freeSys("Warning", "*=*warning*", term("level", "003"))},
		{"free drive path", `C:\Windows`, free(`C:\Windows`, `*=*c:\windows*`)},
		{"free regexp", "/mimi.*/", disj(re("text", "(?i:mimi.*)"), re("kv", "[^=]*=(?i:mimi.*)"),
			re("computer", "(?i:mimi.*)"), re("sigma.title", "(?i:mimi.*)"))},
		{"implicit and", "EventID:4624 LogonType:3", conj(num("event_id", 4624), term("kv", "logontype=3"))},
		{"explicit and", "EventID:4624 AND LogonType:3", conj(num("event_id", 4624), term("kv", "logontype=3"))},
		{"and symbol", "EventID:4624 && LogonType:3", conj(num("event_id", 4624), term("kv", "logontype=3"))},
		{"lower case keywords", "EventID:4624 and LogonType:3 or EventID:4625",
			disj(conj(num("event_id", 4624), term("kv", "logontype=3")), num("event_id", 4625))},
		{"or", "EventID:4624 OR EventID:4625", disj(num("event_id", 4624), num("event_id", 4625))},
		{"or symbol", "EventID:4624 || EventID:4625", disj(num("event_id", 4624), num("event_id", 4625))},
		{"or flattened", "EventID:1 OR (EventID:2 OR EventID:3)", disj(num("event_id", 1), num("event_id", 2), num("event_id", 3))},
		{"and binds tighter", "EventID:1 EventID:2 OR EventID:3",
			disj(conj(num("event_id", 1), num("event_id", 2)), num("event_id", 3))},
		{"parens", "(EventID:1 OR EventID:2) EventID:3",
			conj(disj(num("event_id", 1), num("event_id", 2)), num("event_id", 3))},
		{"not", "NOT EventID:1", boolean(nil, qs(num("event_id", 1)))},
		{"bang", "!EventID:1", boolean(nil, qs(num("event_id", 1)))},
		{"minus", "EventID:4624 -LogonType:3", boolean(qs(num("event_id", 4624)), qs(term("kv", "logontype=3")))},
		{"plus", "+EventID:4624 +LogonType:3", conj(num("event_id", 4624), term("kv", "logontype=3"))},
		{"double not", "NOT NOT EventID:1", num("event_id", 1)},
		{"and not", "EventID:1 AND NOT EventID:2 AND NOT EventID:3",
			boolean(qs(num("event_id", 1)), qs(num("event_id", 2), num("event_id", 3)))},
		{"star and not", "* -EventID:1", boolean(nil, qs(num("event_id", 1)))},
		{"not all", "NOT *", bq.NewMatchNoneQuery()},
		{"hyphen inside word", "host:ws-01", term("computer", "ws-01")},
		{"colon inside value", "time:>=2019-03-01T10:00:00Z", date("2019-03-01T10:00:00Z", "", true, false)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := query.Parse(tc.q, query.Options{Now: testNow})
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.q, err)
			}
			if g, w := jsonOf(t, got), jsonOf(t, tc.want); g != w {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tc.q, g, w)
			}
		})
	}
}

// TestParseTimePrecision checks what JSON cannot show: sub-second bounds.
func TestParseTimePrecision(t *testing.T) {
	got, _, err := query.Parse("time:2019-03-01T12:00:00.123456789Z", query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dr, ok := got.(*bq.DateRangeQuery)
	if !ok {
		t.Fatalf("got %T, want *query.DateRangeQuery", got)
	}
	want := time.Date(2019, 3, 1, 12, 0, 0, 123456789, time.UTC)
	if !dr.Start.Equal(want) || !dr.End.Equal(want) {
		t.Errorf("got [%v, %v], want both %v", dr.Start.Time, dr.End.Time, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, q string
		strict  bool
		pos     int
		msg     string // substring of Msg
	}{
		{"stray close", "EventID:4624 )", false, 14, `unexpected ")"`},
		{"stray close after group", "(a OR b))", false, 9, `unexpected ")"`},
		{"unclosed group", "(EventID:1 OR b", false, 1, `unclosed "("`},
		{"unterminated quote", `Image:"C:\x`, false, 7, "unterminated quote starting"},
		{"unterminated bare quote", `a "b`, false, 3, "unterminated quote starting"},
		{"range on data", "LogonType:>3", false, 1, `range on data field "LogonType" is not supported`},
		{"range on data brackets", "x LogonType:[1 TO 3]", false, 3, `range on data field "LogonType" is not supported`},
		{"range on keyword", "computer:[a TO b]", false, 1, `range on field "Computer" is not supported`},
		{"not a number", "EventID:abc", false, 9, `field "EventID" expects a number, got "abc"`},
		{"numeric wildcard", "EventID:46*", false, 9, "wildcards are not supported on numeric field"},
		{"numeric regexp", "EventID:/46/", false, 9, "regular expressions are not supported"},
		{"leading and", "AND foo", false, 1, `unexpected "AND"`},
		{"leading or", "|| foo", false, 1, `unexpected "||"`},
		{"trailing and", "foo AND", false, 5, `missing search term after "AND"`},
		{"trailing or", "foo OR", false, 5, `missing search term after "OR"`},
		{"and or", "foo AND OR bar", false, 5, `missing search term after "AND"`},
		{"lone not", "NOT", false, 1, `missing search term after "NOT"`},
		{"lone minus", "foo -", false, 5, `missing search term after "-"`},
		{"minus space", "- foo", false, 1, `missing search term after "-"`},
		{"missing value", "x:", false, 3, `missing value for field "x"`},
		{"missing value space", "EventID: 4624", false, 9, `missing value for field "EventID"`},
		{"missing operand", "EventID:>=", false, 11, `missing value after ">="`},
		{"unterminated range", "EventID:[1 TO", false, 9, "unterminated range starting"},
		{"range without to", "EventID:[1 5]", false, 12, "expected TO in range"},
		{"range bad close", "EventID:[1 TO 5)", false, 16, `expected "]" or "}"`},
		{"empty range", "EventID:[5 TO 1]", false, 10, "empty range"},
		{"empty exclusive range", "EventID:{5 TO 5]", false, 10, "empty range"},
		{"bad date", "time:2019-13-45", false, 6, "expected a date"},
		{"date out of range", "time:3000-01-01", false, 6, "out of range"},
		{"relative overflow", "time:>now-999999999w", false, 7, "out of range"},
		{"empty time range", "time:[2019-02-01 TO 2019-01-01]", false, 7, "empty time range"},
		{"empty exclusive days", "time:{2019-01-01 TO 2019-01-02}", false, 7, "empty time range"},
		{"time wildcard", "time:2019*", false, 6, "wildcards are not supported on time"},
		{"unterminated regexp", "CommandLine:/abc", false, 13, "unterminated regular expression"},
		{"anchored regexp", "CommandLine:/^abc$/", false, 13, "invalid regular expression"},
		{"bad regexp", "CommandLine:/a(b/", false, 13, "invalid regular expression"},
		{"costly regexp", "CommandLine:/.{1000}/", false, 13, "regular expression is too complex"},
		{"huge regexp program", "CommandLine:/x{900}y{900}/", false, 13, "too many instructions"},
		{"regexp state explosion", "CommandLine:/(a|b)*a(a|b){20}/", false, 13, "dfa contains more than"},
		{"empty parens", "foo ()", false, 5, "empty parentheses"},
		{"empty field group", "EventID:()", false, 9, "empty parentheses"},
		{"bare range", "[1 TO 2]", false, 1, "a range needs a field"},
		{"bare comparison", ">5", false, 1, "a comparison needs a field"},
		{"empty phrase", `foo ""`, false, 5, "empty search term"},
		{"columns count characters", `äöü )`, false, 5, `unexpected ")"`},
		{"unknown strict suggestion", "TargetUserNme:x", true, 1, `unknown field "TargetUserNme" (did you mean "TargetUserName"?)`},
		{"unknown strict system suggestion", "foo EvntID:4624", true, 5, `unknown field "EvntID" (did you mean "EventID"?)`},
		{"unknown strict no suggestion", "Foo:bar", true, 1, `unknown field "Foo"`},
		{"too deep", strings.Repeat("(", 200) + "a" + strings.Repeat(")", 200), false, 0, "nested too deeply"},
		{"too deep not", strings.Repeat("!", 500) + "a", false, 0, "nested too deeply"},
		{"too long", strings.Repeat("a", 70000), false, 0, "query is too long"},
		// The repro: 300 "*a" then "*", a read-only user's query
		// that burned 99 s of CPU.
		{"star flood", strings.Repeat("*a", 300) + "*", false, 1, "too many wildcards in one term (301"},
		{"question flood", strings.Repeat("?", 1000), false, 1, "too many wildcards in one term (1000"},
		{"field question flood", "CommandLine:" + strings.Repeat("?", 1000), false, 13, "too many wildcards"},
		{"keyword nine wildcards", "computer:a?b?c?d?e?f?g?h?i?", false, 10, "too many wildcards in one term (9"},
		{"questions after a star", "CommandLine:*a?????", false, 13, "too many ? after a * in one term (5"},
		{"free text questions", "ab?c?d?e?f?g", false, 1, "too many ? after a *"}, // its kv clause is *=*term*
		{"long wildcard term", "CommandLine:*" + strings.Repeat("x", 300) + "*", false, 13, "wildcard term is too long"},
		{"too many leading wildcards", strings.Repeat("*ab* ", 30), false, 0, "query is too expensive"},
		{"too many free words", strings.Repeat("word ", 30), false, 0, "query is too expensive"},
		{"too many free regexps", strings.Repeat("/a.c/ ", 12), false, 0, "query is too expensive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _, err := query.Parse(tc.q, query.Options{Strict: tc.strict, Now: testNow})
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error", tc.q, jsonOf(t, q))
			}
			var pe *query.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T %v, want *ParseError", tc.q, err, err)
			}
			if !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("Parse(%q) msg = %q, want it to contain %q", tc.q, pe.Msg, tc.msg)
			}
			if tc.pos != 0 && pe.Pos != tc.pos {
				t.Errorf("Parse(%q) pos = %d, want %d (%v)", tc.q, pe.Pos, tc.pos, err)
			}
		})
	}
}

// TestWildcardLimits checks what the limits still accept: eight
// wildcards, runs of stars counted once, a leading wildcard, escaped
// stars not counted, and an analyst's ordinary multi-word search.
func TestWildcardLimits(t *testing.T) {
	for _, q := range []string{
		"CommandLine:*a*b*c*d*e*f*g*",
		"computer:a?b?c?d?e?f?g?h?",
		"CommandLine:*a????",
		strings.Repeat("ab", 120) + "*a????",
		"CommandLine:***mimikatz***",
		`CommandLine:*\*\*\*\*\*\*\*\*\*x*`,
		"*lsass*",
		"CommandLine:*" + strings.Repeat("x", 250) + "*",
		"invoke mimikatz powershell lsass dump credentials sekurlsa logonpasswords",
		strings.Repeat("*ab* ", 10),
	} {
		if _, _, err := query.Parse(q, query.Options{Now: testNow}); err != nil {
			t.Errorf("Parse(%q) = %v, want it accepted", q, err)
		}
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, _, err := query.Parse("EventID:4624 )", query.Options{})
	if got, want := err.Error(), `unexpected ")" at column 14`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, _, err = query.Parse(`Image:"abc`, query.Options{})
	if got, want := err.Error(), `unterminated quote starting at column 7`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestStrictAcceptsKnown(t *testing.T) {
	for _, q := range []string{
		"TargetUserName:admin", "targetusername:admin", "CommandLine:*x*", "EventID:1", "eid:1", "host:x",
		"sigma.level:high", "ScriptBlockText:*iex*", "Image:x", "LogonType:3", "IpAddress:1.2.3.4",
		"ServiceName:x", "ParentImage:x", `"Threat Name":x`, "ThreatName:x", "QueryName:x", "GrantedAccess:0x1410",
		"TaskName:x", "ImagePath:x", "SubjectUserName:x", "ProcessId:4", "ProcessID:4", "User:x",
		"LogFileCleared.SubjectUserName:x", "time:>now-1h",
	} {
		if _, _, err := query.Parse(q, query.Options{Strict: true}); err != nil {
			t.Errorf("Parse(%q, Strict) = %v, want no error", q, err)
		}
	}
}

func TestInfo(t *testing.T) {
	_, info, err := query.Parse(`EventID:4624 targetusername:admin* Foo:1 "lateral movement" -mimikatz time:>now-1h`, query.Options{Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	want := query.Info{
		Fields:        []string{"channel", "computer", "event_id", "kv", "provider", "sigma.title", "text", "time"},
		DataFields:    []string{"Foo", "TargetUserName"},
		UnknownFields: []string{"Foo"},
		Terms:         []string{"lateral movement", "mimikatz"},
	}
	got, _ := json.Marshal(info)
	w, _ := json.Marshal(want)
	if string(got) != string(w) {
		t.Errorf("Info\n got %s\nwant %s", got, w)
	}
	_, info, err = query.Parse("  ", query.Options{})
	if err != nil || !info.MatchAll {
		t.Errorf("Parse(blank) info = %+v, %v; want MatchAll", info, err)
	}
}

func TestKnownField(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"TargetUserName", true},
		{"targetusername", true},
		{"CommandLine", true},
		{"ScriptBlockText", true},
		{"EventID", true},
		{"eid", true},
		{"@timestamp", true},
		{"sigma.level", true},
		{"Threat Name", true},
		{"ThreatName", true},
		{"LogFileCleared.SubjectUserName", true},
		{"TargetUserNme", false},
		{"Foo", false},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := query.KnownField(tc.name); got != tc.want {
				t.Errorf("KnownField(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
	all := query.KnownFields()
	if len(all) < 300 || !slices.Contains(all, "EventID") || !slices.Contains(all, "TargetUserName") {
		t.Errorf("KnownFields() has %d names, want ≥300 including EventID and TargetUserName", len(all))
	}
	for _, n := range all {
		if !query.KnownField(n) {
			t.Errorf("KnownField(%q) = false for a name KnownFields lists", n)
		}
	}
}
