package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/search/query"

	"casescope/evtx"
	"casescope/internal/level"
	qparse "casescope/store/query"
)

// ErrUnavailable reports an event store that cannot be reached (a
// cluster down or unreachable): the work is not lost, it waits.
var ErrUnavailable = errors.New("event store unavailable")

// clusterTimeout bounds one write to the cluster; reads are bounded by
// their context.
const clusterTimeout = 2 * time.Minute

// maxIDsPerQuery bounds the document IDs written into one statement.
const maxIDsPerQuery = 5000

// Cluster keeps one case's events in ClickHouse, spoken to over its HTTP
// interface (INSERT … FORMAT JSONEachRow, SELECT … FORMAT JSONEachRow),
// which every ClickHouse release since 18.16 speaks alike; no client
// library is needed.
//
// Layout: with a cluster, a local table per shard (ReplacingMergeTree,
// partitioned by month, ordered by sort key and ID) and a Distributed
// table over them sharded by cityHash64(origin, doc); without, the local
// table alone. Each row is one version of one event: writing a document
// again (re-processing, tags, re-detection) inserts a newer version, and
// a deletion a newer tombstone. Reads see only the newest version of each
// event and no tombstones (see dedup): a re-insert after a crash never
// counts twice, whether or not the engine has merged the versions yet.
// All versions of an event live on one shard (the sharding key), so that
// filter runs on each shard alone.
//
// A Cluster is safe for concurrent use.
type Cluster struct {
	u      StoreURL
	client *http.Client
	db     string
	local  string // per-shard table
	table  string // table queries and inserts go to (Distributed or local)
	multi  string // per-shard table of the events that have more than one version
	mdist  string // Distributed table over multi (or multi itself)
	origin string
	tr     sqlTranslator
	shards []string // HTTP host:port of every shard (DDL, disk size)
	ver    atomic.Uint64
	writes atomic.Uint64 // numbers IndexDocs calls, in order (rowKey.write)
	// rewritten is set once the multi table is seen non-empty: it never
	// empties again, so every read de-duplicates from then on.
	rewritten atomic.Bool

	// Rows are inserted in large blocks (ClickHouse makes a part per
	// insert and shard): pend holds encoded rows not yet sent, flushed
	// when it grows past flushRows or flushBytes, and whenever a caller
	// needs durability (IndexDocsAsync, sync, before reading IDs back).
	// flushMu serializes flushes, so a flush returns only after every
	// row added before it is in. A failed flush keeps its rows, ahead of
	// any added since: rows go in in the order they were written.
	flushMu  sync.Mutex
	mu       sync.Mutex // guards pend, pendRows, pendKeys
	pend     []byte     // rows without their version (see body)
	pendRows int
	pendKeys []rowKey // each pending row, in order
}

// rowKey names a pending row: its sort key (the table's primary key
// prefix, for finding earlier versions by index), document ID, the
// IndexDocs call that wrote it and its length in pend.
type rowKey struct {
	k, doc string
	write  uint64
	n      int
}

// flushRows and flushBytes bound the rows a Cluster holds before
// inserting them.
const (
	flushRows  = 20000
	flushBytes = 32 << 20
)

// ClusterTable is the table name of a case in a cluster, the same from
// any data directory: the case's name, made an identifier, and a hash of
// it.
func ClusterTable(caseName string) string {
	var b strings.Builder
	b.WriteString("case_")
	for _, r := range strings.ToLower(caseName) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() > 40 {
			break
		}
	}
	sum := sha256.Sum256([]byte(caseName))
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(sum[:4]))
	return b.String()
}

// OpenCluster opens (creating when needed) the case's tables in the
// store u. origin names this ledger's events (Case.Origin).
func OpenCluster(ctx context.Context, u StoreURL, caseName, origin string) (*Cluster, error) {
	if u.Embedded() {
		return nil, fmt.Errorf("open cluster: %q is not a cluster: %w", u.String(), ErrInvalid)
	}
	name := ClusterTable(caseName)
	c := &Cluster{u: u, client: &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 8, IdleConnTimeout: time.Minute}},
		db: u.Database, local: name, table: name, multi: name + "_multi", mdist: name + "_multi", origin: origin}
	c.tr = sqlTranslator{standard: Mapping().AnalyzerNamed(standard.Name)}
	if c.tr.standard == nil {
		return nil, fmt.Errorf("open cluster: no standard analyser")
	}
	c.ver.Store(uint64(time.Now().UnixNano()))
	if u.Cluster != "" {
		c.local = name + "_local"
		c.multi = name + "_multi_local"
	}
	if err := c.create(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// columns is the local table's schema: the Bleve index's fields as
// columns of the same terms (see clusterRow), plus identity and version.
const columns = `origin String, doc String, ver UInt64, deleted UInt8,
	day Date, tns Int64, ticks UInt64, k String,
	event_id String, record_id String, level String, channel String, provider String, computer String,
	file String, f String, time_invalid String,
	user Array(String), kv Array(String), text Array(String),
	sigma_rule Array(String), sigma_title Array(String), sigma_level Array(String), sigma_pack Array(String), sigma_max UInt8,
	ioc Array(String), ioc_type Array(String), ioc_count UInt32, tag Array(String), starred Array(String),
	s String, e String`

// multiColumns is the schema of the table naming the events written more
// than once (see live).
const multiColumns = `k String, origin String, doc String`

func (c *Cluster) create(ctx context.Context) error {
	shards := []string{c.u.Host}
	if c.u.Cluster != "" {
		var err error
		if shards, err = c.shardEndpoints(ctx); err != nil {
			return err
		}
	}
	c.shards = shards
	local, multi := c.db+"."+c.local, c.db+"."+c.multi
	for _, h := range shards {
		if err := c.exec(ctx, h, "CREATE DATABASE IF NOT EXISTS "+c.db, nil); err != nil {
			return fmt.Errorf("create case tables on %s: %w", h, err)
		}
		// A case table made before the table of multi-version events
		// (or the full-event column) gets them now: the events already
		// written more than once are found once, by a scan.
		existed, err := c.tableExists(ctx, h, c.local)
		if err != nil {
			return fmt.Errorf("create case tables on %s: %w", h, err)
		}
		hadMulti, err := c.tableExists(ctx, h, c.multi)
		if err != nil {
			return fmt.Errorf("create case tables on %s: %w", h, err)
		}
		stmts := []string{
			"CREATE TABLE IF NOT EXISTS " + local + " (" + columns + ") ENGINE = ReplacingMergeTree(ver) PARTITION BY toYear(day) ORDER BY (k, origin, doc)",
			"CREATE TABLE IF NOT EXISTS " + multi + " (" + multiColumns + ") ENGINE = ReplacingMergeTree() ORDER BY (k, origin, doc)",
		}
		if existed {
			if stmts, err = c.addMissingColumns(ctx, h, stmts); err != nil {
				return fmt.Errorf("create case tables on %s: %w", h, err)
			}
		}
		if existed && !hadMulti {
			stmts = append(stmts, "INSERT INTO "+multi+" SELECT any(k), origin, doc FROM "+local+" GROUP BY origin, doc HAVING count() > 1")
		}
		if c.u.Cluster != "" {
			stmts = append(stmts, "CREATE TABLE IF NOT EXISTS "+c.db+"."+c.table+" AS "+local+
				" ENGINE = Distributed("+c.u.Cluster+", "+c.db+", "+c.local+", cityHash64(origin, doc))",
				"CREATE TABLE IF NOT EXISTS "+c.db+"."+c.mdist+" AS "+multi+
					" ENGINE = Distributed("+c.u.Cluster+", "+c.db+", "+c.multi+", cityHash64(origin, doc))")
		}
		for _, s := range stmts {
			if err := c.exec(ctx, h, s, nil); err != nil {
				return fmt.Errorf("create case tables on %s: %w", h, err)
			}
		}
	}
	return nil
}

// tableExists reports whether the database holds table on host.
func (c *Cluster) tableExists(ctx context.Context, host, table string) (bool, error) {
	var n flexUint
	err := c.query(ctx, host, "SELECT count() AS n FROM system.tables WHERE database = "+sqlString(c.db)+
		" AND name = "+sqlString(table)+" FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			N flexUint `json:"n"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		n = r.N
		return nil
	})
	return n > 0, err
}

// addedColumns are the columns added to the schema after its first
// release, with their types: tables made before get them by ALTER.
var addedColumns = [][2]string{{"e", "String"}}

// addMissingColumns appends to stmts the ALTERs that give the case's
// tables on host (the local one and, with a cluster, the Distributed
// one) the columns they lack.
func (c *Cluster) addMissingColumns(ctx context.Context, host string, stmts []string) ([]string, error) {
	tables := []string{c.local}
	if c.u.Cluster != "" {
		tables = append(tables, c.table)
	}
	for _, t := range tables {
		have := map[string]bool{}
		err := c.query(ctx, host, "SELECT name FROM system.columns WHERE database = "+sqlString(c.db)+
			" AND table = "+sqlString(t)+" FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			have[r.Name] = true
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(have) == 0 {
			continue // not made yet: made with every column
		}
		for _, col := range addedColumns {
			if !have[col[0]] {
				stmts = append(stmts, "ALTER TABLE "+c.db+"."+t+" ADD COLUMN "+col[0]+" "+col[1])
			}
		}
	}
	return stmts, nil
}

// shardEndpoints finds the HTTP address of one replica of every shard of
// the cluster, to create the local tables (18.16 has no distributed DDL
// without ZooKeeper). Given in the URL (shards=), they are used as they
// are; otherwise each replica's native port from system.clusters is
// shifted by the entry server's own HTTP−native offset (as when every
// server keeps the default 8123/9000 pair, or a rig offsets both alike),
// and each candidate must report itself as that replica.
func (c *Cluster) shardEndpoints(ctx context.Context) ([]string, error) {
	if len(c.u.Shards) > 0 {
		return c.u.Shards, nil
	}
	type replica struct {
		Shard   flexUint `json:"shard_num"`
		Host    string   `json:"host_address"`
		Port    flexUint `json:"port"`
		IsLocal flexUint `json:"is_local"`
	}
	var reps []replica
	err := c.query(ctx, c.u.Host, "SELECT shard_num, host_address, port, is_local FROM system.clusters WHERE cluster = "+
		sqlString(c.u.Cluster)+" ORDER BY shard_num, replica_num FORMAT JSONEachRow", func(line []byte) error {
		var r replica
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		reps = append(reps, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cluster %s: %w", c.u.Cluster, err)
	}
	if len(reps) == 0 {
		return nil, fmt.Errorf("cluster %q is not in the server's remote_servers: %w", c.u.Cluster, ErrInvalid)
	}
	_, hp, _ := net.SplitHostPort(c.u.Host)
	httpPort, _ := strconv.Atoi(hp)
	offset, found := 0, false
	for _, r := range reps {
		if r.IsLocal == 1 {
			offset, found = httpPort-int(r.Port), true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("cluster %q does not include the server at %s; give the shards' HTTP addresses with shards=HOST:PORT,…: %w", c.u.Cluster, c.u.Host, ErrInvalid)
	}
	var out []string
	done := map[uint64]bool{}
	for _, r := range reps {
		if done[uint64(r.Shard)] {
			continue
		}
		cand := net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port)+offset))
		if r.IsLocal == 1 {
			cand = c.u.Host
		} else if !c.isReplica(ctx, cand, r.Port) {
			continue // another replica of the shard may answer
		}
		done[uint64(r.Shard)] = true
		out = append(out, cand)
	}
	for _, r := range reps {
		if !done[uint64(r.Shard)] {
			return nil, fmt.Errorf("cluster %q shard %d: no replica answers over HTTP at a derived address; give shards=HOST:PORT,… in the store URL: %w", c.u.Cluster, r.Shard, ErrUnavailable)
		}
	}
	return out, nil
}

// isReplica reports whether the server at host answers over HTTP and is
// the replica listening natively on port.
func (c *Cluster) isReplica(ctx context.Context, host string, port flexUint) bool {
	n := 0
	err := c.query(ctx, host, "SELECT count() AS n FROM system.clusters WHERE cluster = "+sqlString(c.u.Cluster)+
		" AND is_local = 1 AND port = "+strconv.FormatUint(uint64(port), 10)+" FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			N flexUint `json:"n"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		n = int(r.N)
		return nil
	})
	return err == nil && n > 0
}

// flexUint decodes a JSON number or a quoted one (ClickHouse quotes
// 64-bit integers).
type flexUint uint64

func (f *flexUint) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("number %s: %w", b, err)
	}
	*f = flexUint(n)
	return nil
}

// settings every request carries: inserts through the Distributed table
// return once every shard has its rows (a file is done only when its
// events are), and long ID lists fit in a statement.
var clusterSettings = url.Values{
	"insert_distributed_sync": {"1"},
	"max_query_size":          {"67108864"},
}

// busyWait bounds how long one statement is retried while the server
// answers that it is busy (see ServerError.Busy) before the caller gets
// ErrUnavailable.
const busyWait = 30 * time.Second

// do sends one statement (body) to host and hands the response body to
// read, line by line when read is set. A statement sent whole (body nil)
// is sent again, with a growing pause, while the server answers that it
// is busy, for up to busyWait: refused before it ran, or (through a
// Distributed table) run on some shards only, a statement casescope
// sends whole is safe to repeat (a read, DDL IF NOT EXISTS, or an INSERT
// … SELECT of tombstones or multi entries, which a second copy leaves
// as they are). Rows sent as body are the caller's to repeat (flush).
func (c *Cluster) do(ctx context.Context, host, stmt string, body io.Reader, read func(line []byte) error) error {
	if body != nil {
		return c.send(ctx, host, stmt, body, read)
	}
	return retryBusy(ctx, func() error { return c.send(ctx, host, stmt, nil, read) })
}

// retryBusy runs fn again, with a growing pause, while it fails on a busy
// server (ServerError.Busy), for up to busyWait; then it returns fn's
// last error.
func retryBusy(ctx context.Context, fn func() error) error {
	pause := 50 * time.Millisecond
	deadline := time.Now().Add(busyWait)
	for {
		err := fn()
		var se *ServerError
		if !errors.As(err, &se) || !se.Busy() || time.Now().Add(pause).After(deadline) {
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// ServerError is an error a ClickHouse server answered: its HTTP status,
// the exception code (0 when the answer has none) and message.
type ServerError struct {
	Host   string
	Status string
	Code   int
	Msg    string
}

func (e *ServerError) Error() string {
	return "cluster " + e.Host + ": " + e.Status + ": " + e.Msg
}

// Busy reports a server refusing work for now (too many queries or
// connections at once, too many parts waiting to merge): the same
// statement succeeds later.
func (e *ServerError) Busy() bool {
	switch e.Code {
	case 202, // TOO_MANY_SIMULTANEOUS_QUERIES
		203, // NO_FREE_CONNECTION
		252: // TOO_MANY_PARTS
		return true
	}
	return false
}

// Unwrap gives ErrUnavailable when the store, not the statement, is at
// fault: a server busy (Busy), or a shard behind it unreachable
// (209 SOCKET_TIMEOUT, 210 NETWORK_ERROR, 279 ALL_CONNECTION_TRIES_FAILED)
// or overloaded (HTTP 503). The engine then keeps the work queued
// instead of failing a file over it.
func (e *ServerError) Unwrap() error {
	switch {
	case e.Busy(), e.Code == 209, e.Code == 210, e.Code == 279, strings.HasPrefix(e.Status, "503"):
		return ErrUnavailable
	}
	return nil
}

// serverCode finds the exception code in a ClickHouse error answer
// ("Code: 202, e.displayText() = …" in 18.16, "Code: 202. DB::Exception: …"
// later).
var serverCode = regexp.MustCompile(`Code: (\d+)`)

// send is one request of do.
func (c *Cluster) send(ctx context.Context, host, stmt string, body io.Reader, read func(line []byte) error) error {
	q := url.Values{}
	for k, v := range clusterSettings {
		q[k] = v
	}
	if body != nil {
		q.Set("query", stmt)
	} else {
		body = strings.NewReader(stmt)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+host+"/?"+q.Encode(), body)
	if err != nil {
		return fmt.Errorf("cluster request: %w", err)
	}
	if c.u.User != "" {
		req.SetBasicAuth(c.u.User, c.u.Password)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cluster %s: %w: %w", host, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		se := &ServerError{Host: host, Status: resp.Status, Msg: strings.TrimSpace(string(msg))}
		if m := serverCode.FindStringSubmatch(se.Msg); m != nil {
			se.Code, _ = strconv.Atoi(m[1])
		}
		return se
	}
	if read == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := read(sc.Bytes()); err != nil {
			return fmt.Errorf("cluster %s: read result: %w", host, err)
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cluster %s: read result: %w: %w", host, ErrUnavailable, err)
	}
	return nil
}

func (c *Cluster) exec(ctx context.Context, host, stmt string, body io.Reader) error {
	return c.do(ctx, host, stmt, body, nil)
}

func (c *Cluster) query(ctx context.Context, host, stmt string, read func(line []byte) error) error {
	return c.do(ctx, host, stmt, nil, read)
}

// nextVer is a version above every one this process wrote before.
func (c *Cluster) nextVer() uint64 {
	for {
		old := c.ver.Load()
		n := max(old+1, uint64(time.Now().UnixNano()))
		if c.ver.CompareAndSwap(old, n) {
			return n
		}
	}
}

// clusterRow is one event as the cluster stores it: the terms of every
// index field, as Index.build makes them.
type clusterRow struct {
	Origin      string   `json:"origin"`
	Doc         string   `json:"doc"`
	Ver         uint64   `json:"ver,omitempty"` // set when sent (see body)
	Day         string   `json:"day"`
	TNS         int64    `json:"tns"`
	Ticks       uint64   `json:"ticks"`
	K           string   `json:"k"`
	EventID     string   `json:"event_id"`
	RecordID    string   `json:"record_id"`
	Level       string   `json:"level"`
	Channel     string   `json:"channel"`
	Provider    string   `json:"provider"`
	Computer    string   `json:"computer"`
	File        string   `json:"file"`
	F           string   `json:"f"`
	TimeInvalid string   `json:"time_invalid"`
	User        []string `json:"user"`
	KV          []string `json:"kv"`
	Text        []string `json:"text"`
	SigmaRule   []string `json:"sigma_rule"`
	SigmaTitle  []string `json:"sigma_title"`
	SigmaLevel  []string `json:"sigma_level"`
	SigmaPack   []string `json:"sigma_pack"`
	SigmaMax    int      `json:"sigma_max"`
	IOC         []string `json:"ioc"`
	IOCType     []string `json:"ioc_type"`
	IOCCount    int      `json:"ioc_count"`
	Tag         []string `json:"tag"`
	Starred     []string `json:"starred"`
	S           string   `json:"s"`
	E           string   `json:"e"`
}

// StoredEvent is an event as the cluster keeps it whole (column e), so
// that any data directory can show another's events in full: the event
// (without its XML rendering), its file's name and its detections.
type StoredEvent struct {
	Event    *evtx.Event `json:"event"`
	FileName string      `json:"file_name,omitempty"`
	Sigma    []SigmaHit  `json:"sigma,omitempty"`
	IOCs     []IOCHit    `json:"iocs,omitempty"`
}

// dayMin and dayMax bound a ClickHouse Date.
var (
	dayMin = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	dayMax = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)
)

// clampNanos is the time the index's time field holds for t, in Unix
// nanoseconds (see indexTime).
func clampNanos(t time.Time) int64 {
	at, _ := indexTime(t)
	return at.UnixNano()
}

func (c *Cluster) row(d *Doc) (clusterRow, error) {
	ev := d.Event
	full := *ev
	full.XML = ""
	e, err := json.Marshal(StoredEvent{Event: &full, FileName: d.FileName, Sigma: d.Sigma, IOCs: d.IOCs})
	if err != nil {
		return clusterRow{}, fmt.Errorf("encode event: %w", err)
	}
	ref := RefOf(d.FileID, ev)
	at, timeInvalid := indexTime(ev.TimeCreated)
	day := at
	if day.Before(dayMin) {
		day = dayMin
	} else if day.After(dayMax) {
		day = dayMax
	}
	r := clusterRow{Origin: c.origin, Doc: ref.ID(), Day: day.UTC().Format("2006-01-02"),
		TNS: at.UnixNano(), Ticks: fileTicks(ev.TimeCreated), K: SortKey(ev.TimeCreated, d.FileID, ref.sortTie()),
		File: strconv.FormatUint(d.FileID, 10), S: string(encodeSummary(ev, timeInvalid)), E: string(e),
		User: []string{}, KV: []string{}, Text: []string{}, SigmaRule: []string{}, SigmaTitle: []string{},
		SigmaLevel: []string{}, SigmaPack: []string{}, IOC: []string{}, IOCType: []string{}, Tag: []string{}, Starred: []string{}}
	if timeInvalid {
		r.TimeInvalid = "true"
	}
	r.EventID, _ = qparse.IntKey(FieldEventID, uint64(ev.EventID))
	r.RecordID, _ = qparse.IntKey(FieldRecordID, ev.RecordID)
	r.Level, _ = qparse.IntKey(FieldLevel, uint64(ev.Level))
	r.Channel, r.Provider, r.Computer = strings.ToLower(ev.Channel), strings.ToLower(ev.Provider), strings.ToLower(ev.Computer)
	r.F = facetTerm(r.Channel, r.EventID, r.Computer, r.Provider)
	if ev.UserID != "" {
		r.User = append(r.User, strings.ToLower(ev.UserID))
	}
	kv := appendSystemKV(make([]byte, 0, 512), ev)
	var text strings.Builder
	for _, f := range ev.Data {
		if f.Value == "" {
			continue
		}
		v := f.Value
		if len(v) > maxKVValue {
			v = v[:maxKVValue]
		}
		name := f.Name
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		kv = appendLower(kv, name)
		kv = append(kv, '=')
		kv = appendLower(kv, v)
		kv = append(kv, kvSep)
		if textFields[f.Name] || (len(f.Value) > 200 && f.Name != "Binary") {
			text.WriteString(f.Value)
			text.WriteByte('\n')
		}
		if isUserField(name) {
			r.User = append(r.User, strings.ToLower(v))
		}
	}
	for _, tok := range (splitAnalyzer{}).Analyze(kv) {
		r.KV = append(r.KV, string(tok.Term))
	}
	if text.Len() > 0 {
		r.Text = c.tr.tokens(text.String())
	}
	for _, h := range d.Sigma {
		r.SigmaRule = append(r.SigmaRule, strings.ToLower(h.RuleID))
		r.SigmaTitle = append(r.SigmaTitle, strings.ToLower(h.Title))
		r.SigmaLevel = append(r.SigmaLevel, strings.ToLower(h.Level))
		if h.Pack != "" {
			r.SigmaPack = append(r.SigmaPack, h.Pack)
		}
		r.SigmaMax = max(r.SigmaMax, level.Rank(h.Level))
	}
	seen := map[string]bool{}
	for _, h := range d.IOCs {
		if !seen[h.IOCID] {
			seen[h.IOCID] = true
			r.IOC = append(r.IOC, strings.ToLower(h.IOCID))
			r.IOCType = append(r.IOCType, strings.ToLower(h.Type))
		}
	}
	r.IOCCount = len(seen)
	for _, t := range d.Tags {
		r.Tag = append(r.Tag, strings.ToLower(t))
	}
	return r, nil
}

// IndexDocs adds docs (a newer version of any already there): sent with
// the next flush, at once with sync. Like the embedded index's, a write
// without sync may be lost in a crash; the engine completes a file only
// after a durable write (IndexDocsAsync).
func (c *Cluster) IndexDocs(docs []Doc, sync bool) error {
	if len(docs) == 0 {
		return nil
	}
	write := c.writes.Add(1)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	keys := make([]rowKey, 0, len(docs))
	for i := range docs {
		r, err := c.row(&docs[i])
		if err != nil {
			return err
		}
		at := buf.Len()
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		keys = append(keys, rowKey{k: r.K, doc: r.Doc, write: write, n: buf.Len() - at})
	}
	c.mu.Lock()
	c.pend = append(c.pend, buf.Bytes()...)
	c.pendRows += len(docs)
	c.pendKeys = append(c.pendKeys, keys...)
	full := c.pendRows >= flushRows || len(c.pend) >= flushBytes
	c.mu.Unlock()
	if sync || full {
		return c.flush()
	}
	return nil
}

// flush inserts every pending row; on failure they stay pending. Before
// the rows, it names in the multi table every pending event that the
// table already holds a version of, or that is pending twice: reads
// de-duplicate only those (see live).
func (c *Cluster) flush() error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	rows, n, keys := c.pend, c.pendRows, c.pendKeys
	c.pend, c.pendRows, c.pendKeys = nil, 0, nil
	c.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	// Rows refused by a busy server (or by a busy shard, after others
	// took theirs) go again after the multi table is brought up to date,
	// with new versions: rows a shard already took are then earlier
	// versions of events the multi table names.
	err := retryBusy(ctx, func() error {
		if err := c.markRewrites(ctx, keys); err != nil {
			return err
		}
		return c.exec(ctx, c.u.Host, "INSERT INTO "+c.db+"."+c.table+" FORMAT JSONEachRow", bytes.NewReader(c.body(rows, keys)))
	})
	if err != nil {
		c.mu.Lock()
		c.pend = append(rows, c.pend...)
		c.pendRows += n
		c.pendKeys = append(keys, c.pendKeys...)
		c.mu.Unlock()
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// body is the insert of pending rows, each given its version: one per
// IndexDocs call, taken now, in the order of the calls. Versions are
// thus fresh at every attempt — rows an interrupted attempt left on some
// shards never tie with their copies, which reads would both count — and
// still follow the order of the writes, since rows go in in that order
// (see flush) and each attempt's versions exceed every earlier one.
func (c *Cluster) body(rows []byte, keys []rowKey) []byte {
	out := make([]byte, 0, len(rows)+len(keys)*30)
	var ver, write uint64
	for i, r := range keys {
		if i == 0 || r.write != write {
			ver, write = c.nextVer(), r.write
		}
		row := rows[:r.n]
		rows = rows[r.n:]
		out = append(out, `{"ver":`...)
		out = strconv.AppendUint(out, ver, 10)
		out = append(out, ',')
		out = append(out, row[1:]...)
	}
	return out
}

// markRewrites adds to the multi table the events of keys that the
// case's table already has a version of (found through the primary
// index by sort key) or that keys names twice.
func (c *Cluster) markRewrites(ctx context.Context, keys []rowKey) error {
	seen := make(map[string]string, len(keys)) // doc → k
	marked := map[string]bool{}
	var ks []string
	for _, r := range keys {
		if _, ok := seen[r.doc]; ok {
			marked[r.doc] = true
		} else {
			seen[r.doc] = r.k
			ks = append(ks, r.k)
		}
	}
	slices.Sort(ks)
	ks = slices.Compact(ks)
	for len(ks) > 0 {
		n := min(len(ks), 4*maxIDsPerQuery)
		err := c.query(ctx, c.u.Host, "SELECT DISTINCT doc"+c.from()+"k IN ("+sqlList(ks[:n])+") AND origin = "+sqlString(c.origin)+
			" FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				Doc string `json:"doc"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			if _, ok := seen[r.Doc]; ok {
				marked[r.Doc] = true
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("find earlier versions: %w", err)
		}
		ks = ks[n:]
	}
	rows := make([]rowKey, 0, len(marked))
	for id := range marked {
		rows = append(rows, rowKey{k: seen[id], doc: id})
	}
	return c.markMulti(ctx, rows)
}

// markMulti names this data directory's events in the multi table.
func (c *Cluster) markMulti(ctx context.Context, rows []rowKey) error {
	if len(rows) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, r := range rows {
		if err := enc.Encode(struct {
			K      string `json:"k"`
			Origin string `json:"origin"`
			Doc    string `json:"doc"`
		}{r.k, c.origin, r.doc}); err != nil {
			return fmt.Errorf("encode event ID: %w", err)
		}
	}
	if err := c.exec(ctx, c.u.Host, "INSERT INTO "+c.db+"."+c.mdist+" FORMAT JSONEachRow", &buf); err != nil {
		return fmt.Errorf("mark rewritten events: %w", err)
	}
	c.rewritten.Store(true)
	return nil
}

// IndexDocsAsync adds docs and inserts everything pending: when it
// returns, these rows and all before them are in the cluster.
func (c *Cluster) IndexDocsAsync(docs []Doc) (<-chan error, error) {
	if err := c.IndexDocs(docs, true); err != nil {
		return nil, err
	}
	ch := make(chan error, 1)
	ch <- nil
	return ch, nil
}

// DeleteDocs writes a tombstone, a newer version marked deleted, for
// each of this ledger's documents ids.
func (c *Cluster) DeleteDocs(ids []string) error {
	if err := c.flush(); err != nil { // tombstones need the rows in
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	for len(ids) > 0 {
		n := min(len(ids), maxIDsPerQuery)
		if err := c.exec(ctx, c.u.Host, "INSERT INTO "+c.db+"."+c.mdist+" SELECT DISTINCT k, origin, doc"+c.from()+
			"origin = "+sqlString(c.origin)+" AND doc IN ("+sqlList(ids[:n])+")", nil); err != nil {
			return fmt.Errorf("delete events: mark them: %w", err)
		}
		c.rewritten.Store(true)
		ver := strconv.FormatUint(c.nextVer(), 10)
		stmt := "INSERT INTO " + c.db + "." + c.table + " (origin, doc, ver, deleted, day, tns, ticks, k) SELECT origin, doc, " +
			ver + ", 1, any(day), any(tns), any(ticks), any(k) FROM " + c.db + "." + c.table +
			" WHERE origin = " + sqlString(c.origin) + " AND doc IN (" + sqlList(ids[:n]) + ") GROUP BY origin, doc"
		if err := c.exec(ctx, c.u.Host, stmt, nil); err != nil {
			return fmt.Errorf("delete events: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

func sqlList(ss []string) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sqlString(s))
	}
	return b.String()
}

// live is cond restricted to the rows a read may see: the newest version
// of each event, unless it is a tombstone.
//
// Most events have one version (written once, never tagged, re-processed
// or deleted), and every write that may give an event a second version
// names it (sort key and ID) in the multi table first (markRewrites,
// DeleteDocs, DeleteOrigin). So a read groups only those events'
// versions for their newest, found through the primary index by sort
// key; every other row is live unless a tombstone. While the multi table
// is empty, no event has two versions and no tombstone hides an older
// one: a read without full skips the grouping (see consistent). The
// subqueries name the local tables: through a Distributed table each
// shard runs them on its own rows, which hold every version of their
// events and their multi entries (both sharded by event ID). Sort keys
// may repeat across data directories: an event sharing one with a
// rewritten event is grouped too, which changes nothing but the cost.
func (c *Cluster) live(cond string, full bool) string {
	s := "deleted = 0"
	if full {
		local, multi := c.db+"."+c.local, c.db+"."+c.multi
		s += " AND (k NOT IN (SELECT k FROM " + multi + ") OR (origin, doc, ver) IN (SELECT origin, doc, max(ver) FROM " +
			local + " WHERE k IN (SELECT k FROM " + multi + ") GROUP BY origin, doc))"
	}
	if cond == "1" {
		return s
	}
	return "(" + cond + ") AND " + s
}

// consistent runs read, which builds its answer afresh on each call,
// with the reads that suit the multi table: without de-duplication while
// it is empty, checked after the read. Entries are never removed, so a
// table empty after the read was empty during it, and no event had two
// versions then; otherwise the read runs again de-duplicating, as every
// later one does.
func (c *Cluster) consistent(ctx context.Context, read func(full bool) error) error {
	full := c.rewritten.Load()
	if err := read(full); err != nil || full {
		return err
	}
	if full, err := c.anyRewritten(ctx); err != nil || !full {
		return err
	}
	return read(true)
}

// anyRewritten reports whether the multi table names any event (and
// remembers it when it does).
func (c *Cluster) anyRewritten(ctx context.Context) (bool, error) {
	if c.rewritten.Load() {
		return true, nil
	}
	var n flexUint
	err := c.query(ctx, c.u.Host, "SELECT count() AS n FROM "+c.db+"."+c.mdist+" FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			N flexUint `json:"n"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		n = r.N
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("check rewritten events: %w", err)
	}
	if n > 0 {
		c.rewritten.Store(true)
	}
	return n > 0, nil
}

// where is the SQL condition for a search request's query and range.
func (c *Cluster) where(req SearchRequest, full bool) (string, error) {
	q, err := parseQuery(req.Query, req.QueryOptions)
	if err != nil {
		return "", err
	}
	cond, err := c.tr.cond(q)
	if err != nil {
		return "", err
	}
	rq, err := timeFilter(req.From, req.To)
	if err != nil {
		return "", err
	}
	if rq != nil {
		tc, err := c.tr.cond(rq)
		if err != nil {
			return "", err
		}
		cond = "(" + cond + ") AND (" + tc + ")"
	}
	return c.live(cond, full), nil
}

func (c *Cluster) from() string { return " FROM " + c.db + "." + c.table + " WHERE " }

// count runs SELECT count() over a condition.
func (c *Cluster) count(ctx context.Context, where string) (uint64, error) {
	var n flexUint
	err := c.query(ctx, c.u.Host, "SELECT count() AS n"+c.from()+where+" FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			N flexUint `json:"n"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		n = r.N
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return uint64(n), nil
}

// hitID is a row's document ID: this ledger's own ID, or origin.ID for
// another data directory's event (not one of this ledger's files; a
// path segment as it is, for the event's URL).
func (c *Cluster) hitID(origin, doc string) string {
	if origin == c.origin {
		return doc
	}
	return origin + foreignSep + doc
}

// foreignSep joins an origin and a document ID in another data
// directory's event IDs; neither part contains it.
const foreignSep = "."

// IsForeignID reports whether id names another data directory's event
// in a cluster case (see Search): it has no file in this ledger, and
// StoredEvent reads it.
func IsForeignID(id string) bool { return strings.Contains(id, foreignSep) }

// Search runs req: the same matches, order (sort key; origin and ID
// break ties between data directories) and counts as Index.Search. A
// cursor holds the last hit's sort key, origin and ID; with SortField,
// an offset (as the index's).
func (c *Cluster) Search(ctx context.Context, req SearchRequest) (SearchResult, error) {
	var out SearchResult
	err := c.consistent(ctx, func(full bool) error {
		var err error
		out, err = c.search(ctx, req, full)
		return err
	})
	return out, err
}

func (c *Cluster) search(ctx context.Context, req SearchRequest, full bool) (SearchResult, error) {
	where, err := c.where(req, full)
	if err != nil {
		return SearchResult{}, err
	}
	size := req.Size
	if size <= 0 {
		size = 50
	}
	size = min(size, 10000)
	dir := " DESC"
	if req.Asc {
		dir = " ASC"
	}
	page := where
	order := "k" + dir + ", origin" + dir + ", doc" + dir
	limit := strconv.Itoa(size)
	offset := 0
	switch {
	case req.SortField != "":
		var err error
		if offset, err = fieldCursorOffset(req.Cursor); err != nil {
			return SearchResult{}, err
		}
		by, err := c.fieldOrder(ctx, req, where)
		if err != nil {
			return SearchResult{}, err
		}
		order = by + ", " + order
		limit = strconv.Itoa(offset) + ", " + limit
	case req.Cursor != "":
		raw, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		if err != nil {
			return SearchResult{}, ErrBadCursor
		}
		var after []string
		if err := json.Unmarshal(raw, &after); err != nil || len(after) < 1 || len(after) > 3 {
			return SearchResult{}, ErrBadCursor
		}
		if _, ok := KeyTime(after[0]); !ok {
			return SearchResult{}, ErrBadCursor
		}
		op := "<"
		if req.Asc {
			op = ">"
		}
		k := sqlString(after[0])
		if len(after) == 3 {
			o, d := sqlString(after[1]), sqlString(after[2])
			page += " AND (k " + op + " " + k + " OR (k = " + k + " AND (origin " + op + " " + o +
				" OR (origin = " + o + " AND doc " + op + " " + d + "))))"
		} else {
			page += " AND k " + op + " " + k
		}
	}
	start := time.Now()
	var out SearchResult
	var wg sync.WaitGroup
	var totalErr, facetErr, histErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		out.Total, totalErr = c.count(ctx, where)
	}()
	if req.Facets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Facets, facetErr = c.facets(ctx, where)
		}()
	}
	if req.Histogram {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.Histogram, histErr = c.histogram(ctx, where)
		}()
	}
	pageOf := func(cond string) ([]pageRow, error) {
		var rows []pageRow
		err := c.query(ctx, c.u.Host, "SELECT origin, doc, k"+c.from()+cond+" ORDER BY "+order+
			" LIMIT "+limit+" FORMAT JSONEachRow", func(line []byte) error {
			var r pageRow
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			rows = append(rows, r)
			return nil
		})
		return rows, err
	}
	var rows []pageRow
	if req.SortField == "" && req.Cursor == "" && !req.Asc && isMatchAll(req) {
		rows, err = c.newestPage(ctx, page, size, pageOf)
	} else {
		rows, err = pageOf(page)
	}
	if err == nil {
		out.Hits, err = c.hits(ctx, rows)
	}
	wg.Wait()
	if err = errors.Join(err, totalErr, facetErr, histErr); err != nil {
		return SearchResult{}, fmt.Errorf("search: %w", err)
	}
	switch {
	case req.SortField != "":
		if end := offset + len(out.Hits); uint64(end) < out.Total && len(out.Hits) == size {
			out.Next = fieldCursor(end)
		}
	case len(rows) == size && uint64(size) < out.Total+1:
		last := rows[len(rows)-1]
		if raw, err := json.Marshal([]string{last.K, last.Origin, last.Doc}); err == nil {
			out.Next = base64.RawURLEncoding.EncodeToString(raw)
		}
	}
	out.Took = time.Since(start)
	return out, nil
}

// isMatchAll reports whether req asks for every event.
func isMatchAll(req SearchRequest) bool {
	if !req.From.IsZero() || !req.To.IsZero() {
		return false
	}
	q, err := parseQuery(req.Query, req.QueryOptions)
	if err != nil {
		return false
	}
	_, all := q.(*query.MatchAllQuery)
	return all
}

// newestPage is the first newest-first page of every event: read from
// a window back from the newest day (1 day, growing 32× while it holds
// less than a page, then everything), so the sort reads the few granules
// the primary index keeps for the window instead of every sort key. A
// window holding a whole page holds the newest page: exact whatever the
// window.
func (c *Cluster) newestPage(ctx context.Context, cond string, size int, pageOf func(cond string) ([]pageRow, error)) ([]pageRow, error) {
	var day string
	err := c.query(ctx, c.u.Host, "SELECT toString(max(day)) AS d"+c.from()+"deleted = 0 FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			D string `json:"d"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		day = r.D
		return nil
	})
	if err != nil {
		return nil, err
	}
	if end, err := time.Parse("2006-01-02", day); err == nil {
		end = end.Add(24 * time.Hour)
		for span := 24 * time.Hour; span <= 1024*24*time.Hour; span *= 32 {
			rows, err := pageOf(cond + " AND k >= " + sqlString(SortKey(end.Add(-span), 0, 0)))
			if err != nil || len(rows) == size {
				return rows, err
			}
		}
	}
	return pageOf(cond)
}

// pageRow is one result of a page: its event and sort key.
type pageRow struct {
	Origin string `json:"origin"`
	Doc    string `json:"doc"`
	K      string `json:"k"`
}

// hits reads the summaries of a page's rows (and, for other data
// directories' events, the whole event) by their sort keys, a look-up in
// the primary index: the page's query reads only the keys, so sorting
// the matches never carries their summaries. Of an event's versions the
// newest is read.
func (c *Cluster) hits(ctx context.Context, rows []pageRow) ([]SearchHit, error) {
	out := make([]SearchHit, 0, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ks := make([]string, 0, len(rows))
	for _, r := range rows {
		ks = append(ks, r.K)
	}
	type found struct {
		ver  uint64
		s, e string
	}
	got := map[[2]string]found{}
	err := c.query(ctx, c.u.Host, "SELECT origin, doc, ver, s, if(origin = "+sqlString(c.origin)+", '', e) AS e"+c.from()+
		"k IN ("+sqlList(ks)+") AND deleted = 0 FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			Origin string   `json:"origin"`
			Doc    string   `json:"doc"`
			Ver    flexUint `json:"ver"`
			S      string   `json:"s"`
			E      string   `json:"e"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		key := [2]string{r.Origin, r.Doc}
		if f, ok := got[key]; !ok || uint64(r.Ver) > f.ver {
			got[key] = found{uint64(r.Ver), r.S, r.E}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	for _, r := range rows {
		f := got[[2]string{r.Origin, r.Doc}]
		h := SearchHit{ID: c.hitID(r.Origin, r.Doc), Summary: DecodeSummary(f.s)}
		h.Time, _ = KeyTime(r.K)
		if f.e != "" {
			var se StoredEvent
			if json.Unmarshal([]byte(f.e), &se) == nil && se.Event != nil {
				h.Stored = &se
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// StoredEvent reads one event, by its ID as Search gives it (another data
// directory's events included), whole from the cluster.
func (c *Cluster) StoredEvent(ctx context.Context, id string) (StoredEvent, error) {
	origin, doc := c.origin, id
	if o, d, ok := strings.Cut(id, foreignSep); ok {
		origin, doc = o, d
	}
	var e string
	err := c.consistent(ctx, func(full bool) error {
		e = ""
		return c.query(ctx, c.u.Host, "SELECT e"+c.from()+c.live("origin = "+sqlString(origin)+" AND doc = "+sqlString(doc), full)+
			" LIMIT 1 FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				E string `json:"e"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			e = r.E
			return nil
		})
	})
	if err != nil {
		return StoredEvent{}, fmt.Errorf("event %s: %w", id, err)
	}
	var se StoredEvent
	if e == "" || json.Unmarshal([]byte(e), &se) != nil || se.Event == nil {
		return StoredEvent{}, fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	return se, nil
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// facets counts the facet terms of the matches, split as Index.Search
// splits them.
func (c *Cluster) facets(ctx context.Context, where string) (map[string][]FacetCount, error) {
	fb := newFacetBuilder()
	err := c.query(ctx, c.u.Host, "SELECT f, count() AS n"+c.from()+where+" GROUP BY f FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			F string   `json:"f"`
			N flexUint `json:"n"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		n := int(r.N)
		if p, ok := fb.counts[r.F]; ok {
			*p += n
		} else {
			fb.counts[r.F] = &n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("facets: %w", err)
	}
	return fb.top(), nil
}

// histogram counts the matches per interval, with the intervals
// Index.Search chooses (histBuilder): about histBuckets from the oldest
// to the newest match.
func (c *Cluster) histogram(ctx context.Context, where string) ([]Bucket, error) {
	var lo, hi, n flexUint
	err := c.query(ctx, c.u.Host, "SELECT min(ticks) AS lo, max(ticks) AS hi, count() AS n"+c.from()+where+" FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			Lo flexUint `json:"lo"`
			Hi flexUint `json:"hi"`
			N  flexUint `json:"n"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		lo, hi, n = r.Lo, r.Hi, r.N
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	h := newHistBuilder()
	h.min, h.max, h.seen = int64(min(uint64(lo), 1<<63-1)), int64(min(uint64(hi), 1<<63-1)), true
	target := (h.max - h.min) / histBuckets
	for stepTicks(h.step) < target && h.step < histMaxStep {
		h.step++
	}
	d := strconv.FormatInt(stepTicks(h.step), 10)
	err = c.query(ctx, c.u.Host, "SELECT intDiv(least(ticks, 9223372036854775807), "+d+") AS b, count() AS n"+c.from()+where+
		" GROUP BY b FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			B flexUint `json:"b"`
			N flexUint `json:"n"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		h.counts[int64(r.B)] += int(r.N)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	return h.buckets(), nil
}

// ownIDs streams the IDs of this ledger's live documents matching cond,
// ordered as asked ("" for none).
func (c *Cluster) ownIDs(ctx context.Context, cond, order string, fn func(id string) error) error {
	stmt := "SELECT doc" + c.from() + "origin = " + sqlString(c.origin) + " AND (" + cond + ")"
	if order != "" {
		stmt += " ORDER BY " + order
	}
	return c.query(ctx, c.u.Host, stmt+" FORMAT JSONEachRow", func(line []byte) error {
		var r struct {
			Doc string `json:"doc"`
		}
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		return fn(r.Doc)
	})
}

// DocKeys returns the DocRef keys of this ledger's matches of req, in
// time order.
func (c *Cluster) DocKeys(ctx context.Context, req SearchRequest) ([]uint64, error) {
	var out []uint64
	err := c.consistent(ctx, func(full bool) error {
		out = nil
		where, err := c.where(req, full)
		if err != nil {
			return err
		}
		return c.ownIDs(ctx, where, "k", func(id string) error {
			if ref, ok := ParseDocID(id); ok {
				out = append(out, ref.Key())
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("match keys: %w", err)
	}
	return out, nil
}

// MatchIDs calls fn with the ID of each of this ledger's events matching
// q (another data directory's events are its own to tag).
func (c *Cluster) MatchIDs(ctx context.Context, q string, opts QueryOptions, fn func(id string) error) error {
	// fn sees each ID as it comes: the multi table is checked before
	// (an event rewritten meanwhile may come twice, harmless to a tag).
	full, err := c.anyRewritten(ctx)
	if err != nil {
		return err
	}
	where, err := c.where(SearchRequest{Query: q, QueryOptions: opts}, full)
	if err != nil {
		return err
	}
	var fnErr error
	err = c.ownIDs(ctx, where, "", func(id string) error {
		if fnErr = fn(id); fnErr != nil {
			return fnErr
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}
	return nil
}

// LatestTime is the time of the case's newest event (zero if none).
func (c *Cluster) LatestTime(ctx context.Context) (time.Time, error) {
	var k string
	err := c.consistent(ctx, func(full bool) error {
		return c.query(ctx, c.u.Host, "SELECT max(k) AS k"+c.from()+c.live("1", full)+" FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				K string `json:"k"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			k = r.K
			return nil
		})
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("latest time: %w", err)
	}
	t, _ := KeyTime(k)
	return t, nil
}

// FileDocIDs lists the IDs of one of this ledger's files' events.
func (c *Cluster) FileDocIDs(ctx context.Context, fileID uint64) ([]string, error) {
	if err := c.flush(); err != nil {
		return nil, err
	}
	var out []string
	err := c.consistent(ctx, func(full bool) error {
		out = nil
		return c.ownIDs(ctx, c.live("origin = "+sqlString(c.origin)+" AND file = "+sqlString(strconv.FormatUint(fileID, 10)), full), "", func(id string) error {
			out = append(out, id)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list file events: %w", err)
	}
	return out, nil
}

// FileIDs lists this ledger's files that have events.
func (c *Cluster) FileIDs() ([]uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	var out []uint64
	err := c.consistent(ctx, func(full bool) error {
		out = nil
		return c.query(ctx, c.u.Host, "SELECT DISTINCT file"+c.from()+c.live("origin = "+sqlString(c.origin), full)+" FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				File string `json:"file"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			if id, err := strconv.ParseUint(r.File, 10, 64); err == nil {
				out = append(out, id)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	return out, nil
}

// CountFile counts one of this ledger's files' events.
func (c *Cluster) CountFile(ctx context.Context, fileID uint64) (uint64, error) {
	return c.countLive(ctx, "origin = "+sqlString(c.origin)+" AND file = "+sqlString(strconv.FormatUint(fileID, 10)))
}

// CountIDs counts how many of this ledger's ids exist.
func (c *Cluster) CountIDs(ctx context.Context, ids []string) (uint64, error) {
	var n uint64
	for len(ids) > 0 {
		k := min(len(ids), maxIDsPerQuery)
		m, err := c.countLive(ctx, "origin = "+sqlString(c.origin)+" AND doc IN ("+sqlList(ids[:k])+")")
		if err != nil {
			return 0, err
		}
		n += m
		ids = ids[k:]
	}
	return n, nil
}

// Count counts the case's events, from every data directory.
func (c *Cluster) Count() (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	return c.countLive(ctx, "1")
}

// countLive counts the live events matching cond.
func (c *Cluster) countLive(ctx context.Context, cond string) (uint64, error) {
	var n uint64
	err := c.consistent(ctx, func(full bool) error {
		var err error
		n, err = c.count(ctx, c.live(cond, full))
		return err
	})
	return n, err
}

// ShardCounts counts the live events each shard holds, in shard order
// (one entry without a cluster).
func (c *Cluster) ShardCounts(ctx context.Context) ([]uint64, error) {
	full, err := c.anyRewritten(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, 0, len(c.shards))
	for _, h := range c.shards {
		var n flexUint
		err := c.query(ctx, h, "SELECT count() AS n FROM "+c.db+"."+c.local+" WHERE "+c.live("1", full)+" FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				N flexUint `json:"n"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			n = r.N
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("count shard %s: %w", h, err)
		}
		out = append(out, uint64(n))
	}
	return out, nil
}

// DiskSize sums the case's active parts on every shard (compressed
// bytes); -1 when a shard cannot be asked.
func (c *Cluster) DiskSize() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	var total int64
	for _, h := range c.shards {
		var n flexUint
		err := c.query(ctx, h, "SELECT sum(bytes) AS n FROM system.parts WHERE active AND database = "+sqlString(c.db)+
			" AND table = "+sqlString(c.local)+" FORMAT JSONEachRow", func(line []byte) error {
			var r struct {
				N flexUint `json:"n"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			n = r.N
			return nil
		})
		if err != nil {
			return -1
		}
		total += int64(n)
	}
	return total
}

// DeleteOrigin writes a tombstone for every live event of this data
// directory (its case is deleted); other data directories' events stay.
func (c *Cluster) DeleteOrigin(ctx context.Context) error {
	if err := c.flush(); err != nil {
		return err
	}
	if err := c.exec(ctx, c.u.Host, "INSERT INTO "+c.db+"."+c.mdist+" SELECT DISTINCT k, origin, doc FROM "+c.db+"."+c.table+
		" WHERE origin = "+sqlString(c.origin), nil); err != nil {
		return fmt.Errorf("delete the case's events: mark them: %w", err)
	}
	c.rewritten.Store(true)
	ver := strconv.FormatUint(c.nextVer(), 10)
	stmt := "INSERT INTO " + c.db + "." + c.table + " (origin, doc, ver, deleted, day, tns, ticks, k) SELECT origin, doc, " +
		ver + ", 1, any(day), any(tns), any(ticks), any(k) FROM " + c.db + "." + c.table +
		" WHERE origin = " + sqlString(c.origin) + " GROUP BY origin, doc"
	if err := c.exec(ctx, c.u.Host, stmt, nil); err != nil {
		return fmt.Errorf("delete the case's events: %w", err)
	}
	return nil
}

// Drop removes the case's tables from every shard (case deletion).
func (c *Cluster) Drop(ctx context.Context) error {
	for _, h := range c.shards {
		for _, t := range []string{c.table, c.local} {
			if err := c.exec(ctx, h, "DROP TABLE IF EXISTS "+c.db+"."+t, nil); err != nil {
				return fmt.Errorf("drop case table on %s: %w", h, err)
			}
		}
	}
	return nil
}

// Ping checks that the entry server answers.
func (c *Cluster) Ping(ctx context.Context) error {
	return c.exec(ctx, c.u.Host, "SELECT 1", nil)
}

// Close releases idle connections; the events stay in the cluster.
// Rows still pending belong to files not yet complete, which the engine
// requeues: they are dropped.
func (c *Cluster) Close() error {
	c.client.CloseIdleConnections()
	return nil
}
