package tally

import (
	"testing"
	"time"
)

// TestParseTime: the forms the readers meet, each with the UTC instant
// it names (worked out by hand from the text).
func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name, in string
		want     time.Time
		ok       bool
	}{
		{"RFC 3339 Z", "2020-10-21T11:28:08.823Z", utc("2020-10-21T11:28:08.823Z"), true},
		{"evtx_dump 100ns", "2026-03-20T08:31:26.7511565Z", utc("2026-03-20T08:31:26.7511565Z"), true},
		{"space, no zone (UTC)", "2023-02-06 22:07:30.404066", utc("2023-02-06T22:07:30.404066Z"), true},
		{"Hayabusa offset", "2021-12-12 23:51:58.123 +09:00", utc("2021-12-12T14:51:58.123Z"), true},
		{"Python offset", "2012-03-14 04:17:38.276340+00:00", utc("2012-03-14T04:17:38.27634Z"), true},
		{"access log", "25/Apr/2021:06:15:33 +0200", utc("2021-04-25T04:15:33Z"), true},
		{"epoch seconds", "1658689261", utc("2022-07-24T19:01:01Z"), true},
		{"Zeek ts, exact", "1320279554.496300", utc("2011-11-03T00:19:14.4963Z"), true},
		{"epoch ms", "1588205198899", utc("2020-04-30T00:06:38.899Z"), true},
		{"Timesketch µs", "1532703487000000", utc("2018-07-27T14:58:07Z"), true},
		{"osquery calendar", "Thu Mar 16 03:08:58 2023 UTC", utc("2023-03-16T03:08:58Z"), true},
		{"l2tcsv date time", "01/22/2012 07:52:33", utc("2012-01-22T07:52:33Z"), true},
		{"garbage", "not a time", time.Time{}, false},
		{"empty", "", time.Time{}, false},
		{"zero", "0", time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseTime(tc.in)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Errorf("ParseTime(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
