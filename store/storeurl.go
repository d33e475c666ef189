package store

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// StoreEmbedded names the embedded event store (a Bleve index per case
// in the data directory), the default.
const StoreEmbedded = "embedded"

// StoreURL is a parsed event-store choice: embedded, or a ClickHouse
// server or cluster reached over its HTTP interface:
//
//	clickhouse://HOST:HTTP_PORT/DATABASE?cluster=NAME
//
// With cluster, each case has a local table on every shard and a
// Distributed table over them; without it, one table on the server.
// Optional parameters: user and password (HTTP basic auth), and shards, a
// comma-separated list of the shards' HTTP addresses (host:port) for
// creating the local tables when they cannot be derived (see
// Cluster.shardEndpoints).
type StoreURL struct {
	Kind     string // StoreEmbedded or "clickhouse"
	Host     string // host:port of the HTTP interface
	Database string
	Cluster  string
	Shards   []string
	User     string
	Password string
	raw      string
}

// ErrStoreMismatch reports a --store choice different from the store a
// case's events already live in.
var ErrStoreMismatch = fmt.Errorf("case lives in another event store: %w", ErrInvalid)

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseStoreURL reads a --store value ("" means embedded).
func ParseStoreURL(s string) (StoreURL, error) {
	if s == "" || s == StoreEmbedded {
		return StoreURL{Kind: StoreEmbedded, raw: StoreEmbedded}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return StoreURL{}, fmt.Errorf("store %q: %w", s, ErrInvalid)
	}
	if u.Scheme != "clickhouse" {
		return StoreURL{}, fmt.Errorf("store %q: want embedded or clickhouse://HOST:HTTP_PORT/DATABASE?cluster=NAME: %w", s, ErrInvalid)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return StoreURL{}, fmt.Errorf("store %q: want HOST:HTTP_PORT: %w", s, ErrInvalid)
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "default"
	}
	q := u.Query()
	su := StoreURL{Kind: "clickhouse", Host: u.Host, Database: db, Cluster: q.Get("cluster"),
		User: q.Get("user"), Password: q.Get("password")}
	if u.User != nil {
		su.User = u.User.Username()
		su.Password, _ = u.User.Password()
	}
	if !identRe.MatchString(su.Database) {
		return StoreURL{}, fmt.Errorf("store %q: database name %q: letters, digits and _ only: %w", s, db, ErrInvalid)
	}
	if su.Cluster != "" && !identRe.MatchString(su.Cluster) {
		return StoreURL{}, fmt.Errorf("store %q: cluster name %q: letters, digits and _ only: %w", s, su.Cluster, ErrInvalid)
	}
	if v := q.Get("shards"); v != "" {
		for _, h := range strings.Split(v, ",") {
			if _, _, err := net.SplitHostPort(h); err != nil {
				return StoreURL{}, fmt.Errorf("store %q: shard %q: want HOST:HTTP_PORT: %w", s, h, ErrInvalid)
			}
			su.Shards = append(su.Shards, h)
		}
	}
	// The recorded form drops the password: it is given again with each
	// command (flag or CASESCOPE_STORE), never kept in the ledger.
	r := url.URL{Scheme: "clickhouse", Host: su.Host, Path: "/" + su.Database}
	rq := url.Values{}
	if su.Cluster != "" {
		rq.Set("cluster", su.Cluster)
	}
	if len(su.Shards) > 0 {
		rq.Set("shards", strings.Join(su.Shards, ","))
	}
	r.RawQuery = rq.Encode()
	su.raw = r.String()
	return su, nil
}

// String is the store's recorded form (no password).
func (u StoreURL) String() string { return u.raw }

// Embedded reports whether u is the embedded store.
func (u StoreURL) Embedded() bool { return u.Kind != "clickhouse" }
