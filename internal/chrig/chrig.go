// Package chrig starts a ClickHouse cluster for tests: servers on
// loopback ports (Debian's clickhouse-server, 18.16 or later), each
// configured in a temporary directory with a remote_servers entry naming
// every server as one shard. Without clickhouse-server on the PATH the
// calling test skips with a message, except under CI=true, where its
// absence fails.
package chrig

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ClusterName is the cluster the servers' remote_servers defines.
const ClusterName = "casescope_test"

// Rig is a running cluster.
type Rig struct {
	// HTTP holds each server's HTTP address (host:port), in shard order.
	HTTP []string
	cmds []*exec.Cmd
	bin  string
	dirs []string
}

// StoreURL is the --store value of the cluster through server i, in
// database db.
func (r *Rig) StoreURL(i int, db string) string {
	return "clickhouse://" + r.HTTP[i] + "/" + db + "?cluster=" + ClusterName
}

// Query runs a statement on server i and returns its output, trimmed.
func (r *Rig) Query(t testing.TB, i int, stmt string) string {
	t.Helper()
	out, err := query(t.Context(), r.HTTP[i], stmt)
	if err != nil {
		t.Fatalf("query %s on %s: %v", stmt, r.HTTP[i], err)
	}
	return out
}

// TryQuery runs a statement on server i and returns its output or the
// server's refusal.
func (r *Rig) TryQuery(ctx context.Context, i int, stmt string) (string, error) {
	return query(ctx, r.HTTP[i], stmt)
}

// Stop kills server i (SIGKILL) and waits for it to exit.
func (r *Rig) Stop(i int) {
	if c := r.cmds[i]; c != nil && c.Process != nil {
		_ = c.Process.Signal(syscall.SIGKILL)
		_ = c.Wait()
		r.cmds[i] = nil
	}
}

func query(ctx context.Context, host, stmt string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+host+"/", strings.NewReader(stmt))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return strings.TrimSpace(string(b)), nil
}

// Binary returns the clickhouse-server path, or skips (fails under
// CI=true) when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("clickhouse-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("clickhouse-server not found (CI installs Debian's clickhouse-server): %v", err)
		}
		t.Skip("clickhouse-server not installed (apt-get install clickhouse-server): cluster tests skipped")
	}
	return p
}

// freePair returns a free native port whose successor (the HTTP port)
// is free too: every server keeps HTTP one above native, as a cluster
// of hosts on the default 9000/8123 keeps one offset, so casescope can
// derive each shard's HTTP address from system.clusters.
func freePair(t testing.TB) (tcp, http int) {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+1)))
		l.Close()
		if err == nil {
			l2.Close()
			return p, p + 1
		}
	}
	t.Fatal("no two adjacent free ports on loopback")
	return 0, 0
}

// Options adjust the servers' configuration.
type Options struct {
	// MaxQueries is each server's max_concurrent_queries (50 when 0):
	// past it a server refuses queries with code 202, at once when set
	// (queue_max_wait_ms 0; by default 18.16 queues a query up to 5 s).
	MaxQueries int
}

// Start starts n servers forming one cluster of n shards, stopped when
// the test ends.
func Start(t testing.TB, n int) *Rig {
	t.Helper()
	return StartWith(t, n, Options{})
}

// StartWith is Start with the servers configured by o.
func StartWith(t testing.TB, n int, o Options) *Rig {
	t.Helper()
	queueWait := ""
	if o.MaxQueries <= 0 {
		o.MaxQueries = 50
	} else {
		queueWait = "<queue_max_wait_ms>0</queue_max_wait_ms>"
	}
	bin := Binary(t)
	type ports struct{ http, tcp int }
	ps := make([]ports, n)
	for i := range ps {
		ps[i].tcp, ps[i].http = freePair(t)
	}
	var shards strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&shards, "<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>", p.tcp)
	}
	r := &Rig{cmds: make([]*exec.Cmd, n), bin: bin}
	t.Cleanup(func() {
		for i := range r.cmds {
			r.Stop(i)
		}
	})
	for i, p := range ps {
		dir := t.TempDir()
		conf := fmt.Sprintf(`<yandex>
<logger><level>warning</level><console>1</console></logger>
<http_port>%d</http_port><tcp_port>%d</tcp_port><listen_host>127.0.0.1</listen_host>
<path>%s/data/</path><tmp_path>%s/tmp/</tmp_path><user_files_path>%s/files/</user_files_path><format_schema_path>%s/schema/</format_schema_path>
<mark_cache_size>67108864</mark_cache_size><uncompressed_cache_size>0</uncompressed_cache_size>
<max_concurrent_queries>%d</max_concurrent_queries>
<users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<profiles><default><max_threads>2</max_threads>%s</default></profiles><quotas><default/></quotas>
<remote_servers><%s>%s</%s></remote_servers>
</yandex>
`, p.http, p.tcp, dir, dir, dir, dir, o.MaxQueries, queueWait, ClusterName, shards.String(), ClusterName)
		cf := filepath.Join(dir, "config.xml")
		if err := os.WriteFile(cf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		r.dirs = append(r.dirs, dir)
		if err := r.start(i); err != nil {
			t.Fatal(err)
		}
		r.HTTP = append(r.HTTP, net.JoinHostPort("127.0.0.1", strconv.Itoa(p.http)))
		t.Cleanup(func() {
			if t.Failed() {
				if b, err := os.ReadFile(filepath.Join(dir, "server.log")); err == nil && len(b) > 0 {
					t.Logf("clickhouse server %d log:\n%s", i, tail(b, 600))
				}
			}
		})
	}
	for i := range r.HTTP {
		r.Wait(t, i)
	}
	return r
}

// start runs server i on its configuration.
func (r *Rig) start(i int) error {
	dir := r.dirs[i]
	log, err := os.OpenFile(filepath.Join(dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(r.bin, "--config-file="+filepath.Join(dir, "config.xml"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start clickhouse-server: %w", err)
	}
	r.cmds[i] = cmd
	return nil
}

// Restart starts server i again after Stop, on the same ports and data,
// and waits until it answers.
func (r *Rig) Restart(t testing.TB, i int) {
	t.Helper()
	r.Stop(i)
	if err := r.start(i); err != nil {
		t.Fatal(err)
	}
	r.Wait(t, i)
}

// Wait polls server i until it answers (60 s at most).
func (r *Rig) Wait(t testing.TB, i int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := query(context.Background(), r.HTTP[i], "SELECT 1")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("clickhouse-server at %s did not answer within 60s: %v", r.HTTP[i], err)
		}
		time.Sleep(50 * time.Millisecond) // polling a starting server, with a deadline
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
