package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"casescope/store"
)

// TestMembershipMatrix extends TestRoleMatrix to case membership: every
// route under /api/cases/{case} is called by users whose global role
// allows it but whose membership of the case does not (none, read-only),
// and by an owner on the member routes. A non-member meets 404, as for a
// case that does not exist; a read-only member meets 403 on every route
// that needs an analyst; the global role still caps a membership.
func TestMembershipMatrix(t *testing.T) {
	r := newRig(t, rigOptions{})
	open := r.createCase(t, "team")        // analyst and reader are members
	var hidden, viewOnly, owned store.Case // made by the admin alone
	for name, c := range map[string]*store.Case{"hidden": &hidden, "view-only": &viewOnly, "owned": &owned} {
		if st, raw := r.call(t, "POST", "/api/cases", map[string]string{"name": name}, c); st != http.StatusCreated {
			t.Fatalf("create %s: got %d %s", name, st, raw)
		}
	}
	for _, u := range []struct{ name, role string }{{"ana2", store.RoleAnalyst}, {"boss2", store.RoleReadOnly}} {
		if _, err := r.ledger.CreateUser(u.name, u.role, "a-long-enough-password"); err != nil {
			t.Fatal(err)
		}
	}
	member := func(c store.Case, user, role string) {
		t.Helper()
		if st, raw := r.call(t, "PUT", "/api/cases/"+itoa(c.ID)+"/members/"+user, map[string]string{"role": role}, nil); st != http.StatusOK {
			t.Fatalf("member %s of %s as %s: got %d %s", user, c.Name, role, st, raw)
		}
	}
	member(viewOnly, "analyst", store.MemberReadOnly)
	member(owned, "ana2", store.MemberOwner)
	member(owned, "boss2", store.MemberOwner) // a read-only user as owner stays read-only

	var caseRoutes []string
	for _, rt := range walkRoutes(t, r) {
		if strings.Contains(rt, "{case}") {
			caseRoutes = append(caseRoutes, rt)
		}
	}
	if len(caseRoutes) < 30 {
		t.Fatalf("case routes: got %d, want every route under /api/cases/{case}", len(caseRoutes))
	}
	for _, rt := range caseRoutes {
		want, ok := accessMatrix[rt]
		if !ok {
			t.Errorf("route %s has no entry in the access matrix", rt)
			continue
		}
		method, pattern, _ := strings.Cut(rt, " ")
		memberRoute := strings.Contains(pattern, "/members/")
		path := func(c store.Case) string {
			return strings.NewReplacer("{case}", itoa(c.ID), "{id}", "999999", "{cid}", "999999", "{name}", "nobody", "{rule}", "x").Replace(pattern)
		}
		t.Run(rt+"/non-member", func(t *testing.T) {
			st := r.userCall(t, "analyst", method, path(hidden))
			switch {
			case rank[store.RoleAnalyst] < rank[want] && !memberRoute:
				if st != http.StatusForbidden {
					t.Errorf("got %d, want 403 (needs %s)", st, want)
				}
			case st != http.StatusNotFound:
				t.Errorf("got %d, want 404 for a case the user is no member of", st)
			}
		})
		t.Run(rt+"/read-only member", func(t *testing.T) {
			st := r.userCall(t, "analyst", method, path(viewOnly))
			if rank[want] > rank[store.RoleReadOnly] || memberRoute {
				if st != http.StatusForbidden {
					t.Errorf("got %d, want 403 (needs %s; the membership is read-only)", st, want)
				}
			} else if st == http.StatusForbidden || st == http.StatusUnauthorized || st == http.StatusNotFound && !strings.Contains(pattern, "{id}") {
				t.Errorf("got %d, want access", st)
			}
		})
		if memberRoute {
			t.Run(rt+"/owner", func(t *testing.T) {
				if st := r.userCall(t, "ana2", method, path(owned)); st == http.StatusForbidden || st == http.StatusUnauthorized {
					t.Errorf("owner: got %d, want access", st)
				}
				if st := r.userCall(t, "boss2", method, path(owned)); st != http.StatusForbidden {
					t.Errorf("read-only user as owner: got %d, want 403", st)
				}
				if st := r.userCall(t, "analyst", method, path(open)); st != http.StatusForbidden {
					t.Errorf("analyst member (not owner): got %d, want 403", st)
				}
			})
		}
	}

	// The case list holds only the caller's cases; admins see all.
	list := func(user string) []string {
		t.Helper()
		var cs []struct {
			Name   string `json:"name"`
			Access string `json:"access"`
		}
		st, raw := r.userGet(t, user, "/api/cases")
		if st != http.StatusOK || json.Unmarshal([]byte(raw), &cs) != nil {
			t.Fatalf("cases as %s: got %d %s", user, st, raw)
		}
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+":"+c.Access)
		}
		slices.Sort(out)
		return out
	}
	if got, want := list("analyst"), []string{"team:analyst", "view-only:read-only"}; !slices.Equal(got, want) {
		t.Errorf("analyst's cases: got %v, want %v", got, want)
	}
	if got, want := list("boss2"), []string{"owned:read-only"}; !slices.Equal(got, want) {
		t.Errorf("read-only owner's cases: got %v, want %v", got, want)
	}
	if got := list("admin"); len(got) != 4 {
		t.Errorf("admin's cases: got %v, want all 4", got)
	}

	// A job of a hidden case is not the analyst's to follow, nor listed.
	var job struct {
		ID uint64 `json:"id"`
	}
	if st, raw := r.call(t, "POST", "/api/cases/"+itoa(hidden.ID)+"/tag-query", map[string]any{"query": "EventID:1", "tags": []string{"x"}}, &job); st != http.StatusAccepted {
		t.Fatalf("bulk tag: got %d %s", st, raw)
	}
	if st, _ := r.userGet(t, "analyst", "/api/jobs/"+itoa(job.ID)); st != http.StatusNotFound {
		t.Errorf("another case's job: got %d, want 404", st)
	}
	if st, _ := r.userGet(t, "admin", "/api/jobs/"+itoa(job.ID)); st != http.StatusOK {
		t.Errorf("admin, the job: got %d, want 200", st)
	}
	if _, raw := r.userGet(t, "analyst", "/api/system"); strings.Contains(raw, `"case_id":`+itoa(hidden.ID)+`,`) {
		t.Errorf("system status lists another case's job: %s", raw)
	}

	// The last owner stays until another is made.
	for _, other := range []string{"admin", "boss2"} { // the admin owns what they created
		if st, raw := r.userCall2(t, "ana2", "DELETE", "/api/cases/"+itoa(owned.ID)+"/members/"+other); st != http.StatusNoContent {
			t.Fatalf("remove the other owner %s: got %d %s", other, st, raw)
		}
	}
	if st, raw := r.userCall2(t, "ana2", "DELETE", "/api/cases/"+itoa(owned.ID)+"/members/ana2"); st != http.StatusConflict {
		t.Errorf("remove the only owner: got %d %s, want 409", st, raw)
	}
	// A case made by an analyst is theirs: they own it, others don't see it.
	var mine store.Case
	if st, raw := r.callAs(t, store.RoleAnalyst, "POST", "/api/cases", map[string]string{"name": "mine"}, &mine); st != http.StatusCreated {
		t.Fatalf("analyst creates a case: got %d %s", st, raw)
	}
	if got := list("analyst"); !slices.Contains(got, "mine:analyst") {
		t.Errorf("creator's cases: got %v, want mine", got)
	}
	if st, raw := r.userGet(t, "analyst", "/api/cases/"+itoa(mine.ID)+"/members"); st != http.StatusOK || !strings.Contains(raw, `"role":"owner"`) {
		t.Errorf("creator's membership: got %d %s, want owner", st, raw)
	}
	if st, _ := r.userGet(t, "ana2", "/api/cases/"+itoa(mine.ID)+"/search?q=*"); st != http.StatusNotFound {
		t.Errorf("another analyst searches the case: got %d, want 404", st)
	}
}

// userCall sends a request as a fresh session of user, with its CSRF
// token and a "{}" body for state changes; it returns the status.
func (r *rig) userCall(t *testing.T, user, method, path string) int {
	t.Helper()
	st, _ := r.userCall2(t, user, method, path)
	return st
}

func (r *rig) userGet(t *testing.T, user, path string) (int, string) {
	t.Helper()
	return r.userCall2(t, user, "GET", path)
}

func (r *rig) userCall2(t *testing.T, user, method, path string) (int, string) {
	t.Helper()
	var body io.Reader
	if !safe(method) {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(t.Context(), method, r.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	u, err := r.ledger.User(user)
	if err != nil {
		t.Fatal(err)
	}
	token, sess, err := r.ledger.CreateSession(u, "test")
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: r.cookieName(), Value: token})
	req.Header.Set("X-CSRF-Token", sess.CSRF)
	res, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}
