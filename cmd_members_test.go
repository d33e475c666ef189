package main

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"casescope/store"
)

// TestCaseMembersCLI adds, lists and removes a case member from the
// command line, as an administrator of the machine does for a case the
// CLI made (which has no members).
func TestCaseMembersCLI(t *testing.T) {
	data := t.TempDir()
	led, err := store.OpenLedger(filepath.Join(data, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := led.CreateUser("ann", store.RoleAnalyst, "a-long-enough-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := led.CreateCase("cli-case", ""); err != nil {
		t.Fatal(err)
	}
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}
	members := func(args ...string) []store.Member {
		t.Helper()
		var out bytes.Buffer
		args = append([]string{"case", "members", "--data", data, "--case", "cli-case", "--json"}, args...)
		if err := run(t.Context(), args, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		var ms []store.Member
		if err := json.Unmarshal(out.Bytes(), &ms); err != nil {
			t.Fatalf("%v: %q: %v", args, out.String(), err)
		}
		return ms
	}
	if ms := members(); len(ms) != 0 {
		t.Errorf("a CLI case's members: got %+v, want none", ms)
	}
	if ms := members("--add", "ann", "--role", "owner"); len(ms) != 1 || ms[0].User != "ann" || ms[0].Role != store.MemberOwner {
		t.Errorf("after --add: got %+v, want ann as owner", ms)
	}
	if err := run(t.Context(), []string{"case", "members", "--data", data, "--case", "cli-case", "--add", "nobody"}, io.Discard, io.Discard); err == nil {
		t.Errorf("adding an unknown user: got no error")
	}
	if ms := members("--remove", "ann"); len(ms) != 0 {
		t.Errorf("after --remove: got %+v, want none", ms)
	}
}
