// Command searchload measures search under load through the HTTP API:
// it runs `casescope serve` on a data directory holding a large case,
// logs N clients in at the same moment from one address (the team on the
// loopback bind), starts an import of a folder through the API (optional)
// and has every client search for a while: a mix of term, wildcard,
// Sigma, newest-first and next-page queries, two in seven with facets and
// the histogram (the search page's first view). It prints throughput,
// p50/p95/max per query, refused logins and the server's peak memory.
//
//	go run ./bench/searchload -bin /tmp/casescope -data /tmp/bench11590 -import /tmp/more -clients 8 -duration 90s
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// query is one kind of search a client sends.
type query struct {
	name   string
	params url.Values
	next   bool // the page after the client's last "term" page
}

func queries() []query {
	v := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	return []query{
		{name: "term EventID:4624", params: v("q", "EventID:4624", "facets", "0")},
		{name: "wildcard CommandLine:*powershell*", params: v("q", "CommandLine:*powershell*", "facets", "0")},
		{name: "facets+histogram Channel:Security", params: v("q", "Channel:Security", "facets", "1", "histogram", "1")},
		{name: "sigma.level:high", params: v("q", "sigma.level:high", "facets", "0")},
		{name: "all, newest first", params: v("q", "", "facets", "0")},
		{name: "next page of EventID:4624", params: v("q", "EventID:4624", "facets", "0"), next: true},
		{name: "first view: all + facets + histogram", params: v("q", "", "facets", "1", "histogram", "1")},
	}
}

type client struct {
	http *http.Client
	base string
	csrf string
}

func main() {
	bin := flag.String("bin", "./casescope", "casescope binary")
	data := flag.String("data", "", "data directory with the case")
	caseName := flag.String("case", "bench", "case to search (and import into)")
	importDir := flag.String("import", "", "folder to import into the case through the API while searching (optional)")
	clients := flag.Int("clients", 8, "concurrent searching clients")
	duration := flag.Duration("duration", 90*time.Second, "how long the clients search")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "searchload: -data is required")
		os.Exit(2)
	}
	if err := run(*bin, *data, *caseName, *importDir, *clients, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "searchload:", err)
		os.Exit(1)
	}
}

func run(bin, data, caseName, importDir string, n int, duration time.Duration) error {
	ctx := context.Background()
	const user, password = "loadbench", "loadbench-password-0123456789"
	// The ledger is free before serve starts: add an admin (the import
	// route is admin's); a second run finds it there and sets the password.
	for _, args := range [][]string{{"user", "add", user, "--role", "admin", "--password-stdin"}, {"user", "passwd", user, "--password-stdin"}} {
		cmd := exec.Command(bin, append(args, "--data", data)...)
		cmd.Stdin = strings.NewReader(password + "\n")
		if out, err := cmd.CombinedOutput(); err == nil {
			break
		} else if args[1] == "passwd" {
			return fmt.Errorf("add user: %w: %s", err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--log-level", "warn")
	srv.Stdout, srv.Stderr = os.Stderr, os.Stderr
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start serve: %w", err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	base := "http://" + addr
	if err := waitUp(base, 2*time.Minute); err != nil {
		return err
	}
	mem := newMemSampler(srv.Process.Pid)
	stopMem := make(chan struct{})
	var memWG sync.WaitGroup
	memWG.Add(1)
	go func() { defer memWG.Done(); mem.run(stopMem) }()

	// Every client logs in at the same moment from one address.
	cs := make([]*client, n)
	loginCodes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			cs[i], loginCodes[i] = login(ctx, base, user, password)
		}()
	}
	loginStart := time.Now()
	close(start)
	wg.Wait()
	loginWall := time.Since(loginStart)
	refused := 0
	for _, c := range loginCodes {
		if c != http.StatusOK {
			refused++
		}
	}
	if cs[0] == nil {
		return fmt.Errorf("login failed (%d)", loginCodes[0])
	}
	caseRef := url.PathEscape(caseName)
	importing := false
	if importDir != "" {
		body, _ := json.Marshal(map[string]string{"path": importDir})
		code, raw, err := cs[0].do(ctx, "POST", "/api/cases/"+caseRef+"/import", body)
		if err != nil || code >= 300 {
			return fmt.Errorf("start import: %d %s %w", code, raw, err)
		}
		importing = true
	}
	qs := queries()
	type sample struct {
		q   int
		d   time.Duration
		err bool
		msg string // the error's status and body
	}
	results := make(chan []sample, n)
	deadline := time.Now().Add(duration)
	for i := range n {
		c := cs[i]
		if c == nil {
			c = cs[0] // a refused login searches on the first session
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out []sample
			cursor := ""
			for k := i; time.Now().Before(deadline); k++ {
				qi := k % len(qs)
				p := url.Values{}
				for key, v := range qs[qi].params {
					p[key] = v
				}
				if qs[qi].next {
					if cursor == "" {
						continue
					}
					p.Set("cursor", cursor)
				}
				t0 := time.Now()
				code, raw, err := c.do(ctx, "GET", "/api/cases/"+caseRef+"/search?"+p.Encode(), nil)
				s := sample{q: qi, d: time.Since(t0), err: err != nil || code != http.StatusOK}
				if s.err {
					s.msg = fmt.Sprintf("%d %s %v", code, bytes.TrimSpace(raw), err)
				}
				out = append(out, s)
				if qi == 0 && !s.err {
					var page struct {
						Next string `json:"next"`
					}
					_ = json.Unmarshal(raw, &page)
					cursor = page.Next
				}
			}
			results <- out
		}()
	}
	wg.Wait()
	close(results)
	close(stopMem)
	memWG.Wait()
	per := make([][]time.Duration, len(qs))
	errs := make([]int, len(qs))
	firstErr := make([]string, len(qs))
	total := 0
	for out := range results {
		for _, s := range out {
			total++
			if s.err {
				if errs[s.q]++; firstErr[s.q] == "" {
					firstErr[s.q] = s.msg
				}
				continue
			}
			per[s.q] = append(per[s.q], s.d)
		}
	}
	state := importState(ctx, cs[0], caseRef) // also files queued by an earlier run, resumed by serve
	if !importing {
		state = "none started; " + state
	}
	fmt.Printf("clients %d, %s, %d searches (%.1f/s); logins at once: %d, refused %d, all answered in %s; import: %s\n",
		n, duration, total, float64(total)/duration.Seconds(), n, refused, loginWall.Round(time.Millisecond), state)
	fmt.Printf("server peak RSS %s (anonymous %s), VmHWM %s\n\n", mib(mem.peakRSS), mib(mem.peakAnon), mib(mem.hwm()))
	fmt.Println("| query | searches | errors | p50 | p95 | max |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, q := range qs {
		d := per[i]
		slices.Sort(d)
		if len(d) == 0 {
			fmt.Printf("| %s | 0 | %d | | | |\n", q.name, errs[i])
			continue
		}
		fmt.Printf("| %s | %d | %d | %s | %s | %s |\n", q.name, len(d), errs[i], ms(pct(d, 0.5)), ms(pct(d, 0.95)), ms(d[len(d)-1]))
	}
	for i, e := range firstErr {
		if e != "" {
			fmt.Printf("\n%s: first error: %s", qs[i].name, e)
		}
	}
	fmt.Println()
	return nil
}

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitUp(base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		res, err := http.Get(base + "/api/session")
		if err == nil {
			res.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("server did not come up")
}

func login(ctx context.Context, base, user, password string) (*client, int) {
	jar, _ := cookiejar.New(nil)
	c := &client{http: &http.Client{Jar: jar, Timeout: 5 * time.Minute}, base: base}
	body, _ := json.Marshal(map[string]string{"name": user, "password": password})
	code, raw, err := c.do(ctx, "POST", "/api/login", body)
	if err != nil || code != http.StatusOK {
		return nil, code
	}
	var sv struct {
		CSRF string `json:"csrf_token"`
	}
	_ = json.Unmarshal(raw, &sv)
	c.csrf = sv.CSRF
	return c, code
}

func (c *client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, raw, err
}

// importState summarises the case's files by state.
func importState(ctx context.Context, c *client, caseRef string) string {
	code, raw, err := c.do(ctx, "GET", "/api/cases/"+caseRef+"/files", nil)
	if err != nil || code != http.StatusOK {
		return fmt.Sprintf("unknown (%d)", code)
	}
	var files []struct {
		State string `json:"state"`
	}
	if err := json.Unmarshal(raw, &files); err != nil {
		var wrapped struct {
			Files []struct {
				State string `json:"state"`
			} `json:"files"`
		}
		if json.Unmarshal(raw, &wrapped) != nil {
			return "unknown"
		}
		files = wrapped.Files
	}
	n := map[string]int{}
	for _, f := range files {
		n[f.State]++
	}
	var parts []string
	for k, v := range n {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(parts)
	return "files " + strings.Join(parts, ", ") + " at the end"
}

// memSampler samples a process's resident memory every 250 ms.
type memSampler struct {
	pid               int
	peakRSS, peakAnon int64
	lastHWM           int64
	statusPath        string
}

func newMemSampler(pid int) *memSampler {
	return &memSampler{pid: pid, statusPath: "/proc/" + strconv.Itoa(pid) + "/status"}
}

func (m *memSampler) run(stop <-chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		m.sample()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (m *memSampler) sample() {
	f, err := os.Open(m.statusPath)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			m.peakRSS = max(m.peakRSS, kb<<10)
		case "RssAnon":
			m.peakAnon = max(m.peakAnon, kb<<10)
		case "VmHWM":
			m.lastHWM = kb << 10
		}
	}
}

func (m *memSampler) hwm() int64 { return m.lastHWM }
