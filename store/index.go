package store

import (
	"casescope/internal/level"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"casescope/evtx"
	qparse "casescope/store/query"
)

// Index field names. Event data goes into FieldKV as lower-cased
// "name=value" keyword tokens (one per EventData field), so a query on any
// Windows/Sysmon field name becomes a term, prefix or wildcard query on one
// field; the long free-text fields are also analysed into FieldText.
const (
	FieldTime     = "time"
	FieldEventID  = "event_id"
	FieldRecordID = "record_id"
	FieldLevel    = "level"
	FieldChannel  = "channel"
	FieldProvider = "provider"
	FieldComputer = "computer"
	FieldFile     = "file"
	FieldKV       = "kv"
	FieldText     = "text"
	FieldUser     = "user"
	// Detection fields.
	FieldSigmaRule  = "sigma.rule"
	FieldSigmaTitle = "sigma.title"
	FieldSigmaLevel = "sigma.level"
	FieldSigmaMax   = "sigma.max" // numeric rank of the highest level, 0 = none
	FieldSigmaPack  = "sigma.pack"
	FieldIOC        = "ioc" // IOC ids
	FieldIOCType    = "ioc.type"
	FieldIOCCount   = "ioc.count"
	FieldTag        = "tag"
	FieldStarred    = "starred"
	// FieldTimeInvalid is "true" on events whose time the time field
	// cannot hold (see indexTime).
	FieldTimeInvalid = "time_invalid"
	// FieldRecovered is "true" on records the reader recovered past a
	// broken record header in a damaged chunk (evtx.Event.Recovered).
	FieldRecovered = "recovered"
	// FieldSummary is the only stored field: a result row's System
	// fields (see Summary), ~110 bytes per event on disk.
	FieldSummary = "s"
)

// Summary is what the index keeps of an event for the result list: every
// System field, in its original case (the keyword fields hold some
// lower-cased), so a row shows what Windows wrote without reading the
// EVTX. Data fields are read from the EVTX for the rows shown. The time is
// not here: a hit's time comes from its sort key, which holds every
// FILETIME exactly (FieldTime is clamped to what Bleve can store).
type Summary struct {
	Channel           string `json:"channel"`
	Provider          string `json:"provider"`
	Computer          string `json:"computer"`
	EventID           uint32 `json:"event_id"`
	RecordID          uint64 `json:"record_id"`
	Level             uint8  `json:"level"`
	Qualifiers        string `json:"qualifiers,omitempty"`
	Version           uint8  `json:"version"`
	Task              uint16 `json:"task"`
	Opcode            uint8  `json:"opcode"`
	Keywords          string `json:"keywords,omitempty"`
	ProviderGUID      string `json:"provider_guid,omitempty"`
	EventSourceName   string `json:"event_source_name,omitempty"`
	ProcessID         uint32 `json:"process_id"`
	ThreadID          uint32 `json:"thread_id"`
	UserID            string `json:"user_id,omitempty"`
	ActivityID        string `json:"activity_id,omitempty"`
	RelatedActivityID string `json:"related_activity_id,omitempty"`
	RecordOffset      uint32 `json:"record_offset"`
	// TimeInvalid marks an event whose time lies outside what the index's
	// time field can hold (1677–2262): it is indexed at the nearest bound
	// and found by time_invalid:true; its true time is the hit's Time.
	TimeInvalid bool `json:"time_invalid,omitempty"`
	// Recovered marks a record recovered from a damaged chunk (found by
	// recovered:true).
	Recovered bool `json:"recovered,omitempty"`
}

// sumSep separates a stored summary's values.
const sumSep = "\x1f"

func encodeSummary(ev *evtx.Event, timeInvalid bool) []byte {
	b := make([]byte, 0, 256)
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	inv, rec := "", ""
	if timeInvalid {
		inv = "1"
	}
	if ev.Recovered {
		rec = "1"
	}
	for _, v := range []string{ev.Channel, ev.Provider, ev.Computer, u(uint64(ev.EventID)),
		u(ev.RecordID), u(uint64(ev.Level)),
		ev.Qualifiers, u(uint64(ev.Version)), u(uint64(ev.Task)), u(uint64(ev.Opcode)), ev.Keywords,
		ev.ProviderGUID, ev.EventSourceName, u(uint64(ev.ProcessID)), u(uint64(ev.ThreadID)), ev.UserID,
		ev.ActivityID, ev.RelatedActivityID, u(uint64(ev.RecordOffset)), inv, rec} {
		b = append(b, strings.ReplaceAll(v, sumSep, " ")...)
		b = append(b, sumSep...)
	}
	return b
}

// DecodeSummary parses a stored summary.
func DecodeSummary(raw string) Summary {
	parts := strings.Split(raw, sumSep)
	var s Summary
	if len(parts) < 20 {
		return s
	}
	n := func(i, bits int) uint64 {
		v, _ := strconv.ParseUint(parts[i], 10, bits)
		return v
	}
	s.Channel, s.Provider, s.Computer = parts[0], parts[1], parts[2]
	s.EventID = uint32(n(3, 32))
	s.RecordID = n(4, 64)
	s.Level = uint8(n(5, 8))
	s.Qualifiers = parts[6]
	s.Version, s.Task, s.Opcode = uint8(n(7, 8)), uint16(n(8, 16)), uint8(n(9, 8))
	s.Keywords, s.ProviderGUID, s.EventSourceName = parts[10], parts[11], parts[12]
	s.ProcessID, s.ThreadID, s.UserID = uint32(n(13, 32)), uint32(n(14, 32)), parts[15]
	s.ActivityID, s.RelatedActivityID = parts[16], parts[17]
	s.RecordOffset = uint32(n(18, 32))
	s.TimeInvalid = parts[19] == "1"
	s.Recovered = len(parts) > 20 && parts[20] == "1" // summaries written before it have 20 parts
	return s
}

// maxKVValue caps the bytes of one value in a kv token; longer values are
// still searchable word by word through FieldText when they are long
// fields.
const maxKVValue = 2048

// textFields are analysed as free text (standard analyzer) besides kv.
var textFields = map[string]bool{
	"CommandLine": true, "ParentCommandLine": true, "ScriptBlockText": true, "Payload": true,
	"ContextInfo": true, "Message": true, "ServiceFileName": true, "ImagePath": true,
	"Details": true, "Query": true, "Data": true, "param1": true, "Destination": true,
	"HostApplication": true,
}

// Doc is one event to index with its detections and tags.
type Doc struct {
	FileID uint64
	// FileName is the file's name, kept by the cluster to show the event
	// in other data directories (optional; the index ignores it).
	FileName string
	Event    *evtx.Event
	Sigma    []SigmaHit
	IOCs     []IOCHit
	Tags     []string
}

// DocRef identifies one record: its file's ledger ID, the chunk's index
// in the file and the record's byte offset inside the chunk. EventRecordIDs
// are not identities (a filtered save of two channels repeats them), so
// they name a record only in legacy IDs and when a reader gave no offset.
type DocRef struct {
	File   uint64
	Chunk  int64
	Offset uint32 // record offset in the chunk; 0 = unknown (records start after the 512-byte chunk header)
	Record uint64 // EventRecordID, used only when Offset is 0
	// Legacy marks an ID of index format 2 ("file-chunk-recordID"), kept
	// by tags written before record offsets; see Matches.
	Legacy bool
}

// RefOf returns the reference of an event of a file.
func RefOf(fileID uint64, ev *evtx.Event) DocRef {
	r := DocRef{File: fileID, Chunk: ev.ChunkOffset / evtx.ChunkSize, Offset: ev.RecordOffset}
	if r.Offset == 0 {
		r.Record = ev.RecordID
	}
	return r
}

// Matches reports whether ev (read from the reference's file and chunk) is
// the record referred to.
func (r DocRef) Matches(ev *evtx.Event) bool {
	if r.Offset != 0 {
		return ev.RecordOffset == r.Offset
	}
	return ev.RecordID == r.Record
}

// ID renders the reference as a document ID: "file-chunk-oOFFSET" (hex),
// or "file-chunk-rRECORD" without an offset; legacy references keep their
// old form.
func (r DocRef) ID() string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, r.File, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, r.Chunk, 16)
	b = append(b, '-')
	switch {
	case r.Legacy:
		b = strconv.AppendUint(b, r.Record, 16)
	case r.Offset != 0:
		b = append(b, 'o')
		b = strconv.AppendUint(b, uint64(r.Offset), 16)
	default:
		b = append(b, 'r')
		b = strconv.AppendUint(b, r.Record, 16)
	}
	return string(b)
}

// LegacyRef is the format-2 reference of an event (file, chunk,
// EventRecordID), to find tags written before record offsets.
func LegacyRef(fileID uint64, ev *evtx.Event) DocRef {
	return DocRef{File: fileID, Chunk: ev.ChunkOffset / evtx.ChunkSize, Record: ev.RecordID, Legacy: true}
}

// sortTie is the reference's last sort-key component: unique within its
// file, in file order (chunk, then offset).
func (r DocRef) sortTie() uint64 {
	if r.Offset != 0 {
		return uint64(r.Chunk)<<32 | uint64(r.Offset)
	}
	return r.Record
}

// Key packs the reference's record position into one number, unique
// within its file: chunk and offset, or (top bit set) the EventRecordID
// when the reader gave no offset. Exports keep a file's matches as keys.
func (r DocRef) Key() uint64 {
	if r.Offset != 0 {
		return uint64(r.Chunk)<<32 | uint64(r.Offset)
	}
	return 1<<63 | r.Record
}

// DocID is the stable ID of an event (see DocRef), so re-indexing a file
// after a crash overwrites instead of duplicating, and the event can be
// re-read from its chunk.
func DocID(fileID uint64, ev *evtx.Event) string { return RefOf(fileID, ev).ID() }

// ParseDocID reads a document ID (current or legacy); ok is false when id
// is malformed.
func ParseDocID(id string) (ref DocRef, ok bool) {
	p := strings.Split(id, "-")
	if len(p) != 3 || p[2] == "" {
		return DocRef{}, false
	}
	f, e1 := strconv.ParseUint(p[0], 16, 64)
	c, e2 := strconv.ParseInt(p[1], 16, 64)
	if e1 != nil || e2 != nil || c < 0 {
		return DocRef{}, false
	}
	ref = DocRef{File: f, Chunk: c}
	var err error
	switch p[2][0] {
	case 'o':
		var o uint64
		o, err = strconv.ParseUint(p[2][1:], 16, 32)
		ref.Offset = uint32(o)
		if o == 0 {
			return DocRef{}, false
		}
	case 'r':
		ref.Record, err = strconv.ParseUint(p[2][1:], 16, 64)
	default:
		ref.Record, err = strconv.ParseUint(p[2], 16, 64)
		ref.Legacy = true
	}
	if err != nil {
		return DocRef{}, false
	}
	return ref, true
}

// Index is the Bleve index of one case. Nothing is stored in it but what
// sorting and faceting need (doc values); events are read back from their
// EVTX chunk for display.
type Index struct {
	idx      bleve.Index
	path     string
	keyword  analysis.Analyzer
	standard analysis.Analyzer
	latest   latestCache
	windowed atomic.Int64 // pages answered from a time window (tests)
	// mutations counts batches and deletes; overview caches the whole
	// case's facets and histogram at one count.
	mutations atomic.Uint64
	overview  overviewCache
	// counts keeps facet and histogram counts per query and segment
	// (see tally); segments of at least countMinDocs documents.
	counts       *countCache
	countMinDocs uint64
	segsCounted  atomic.Int64 // segments tally counted (tests)
	// sortParallelMin and sortWorkers tune topSorted (tests lower them).
	sortParallelMin  uint64
	tallyParallelMin uint64
	sortWorkers      int
	// cols holds large segments' time and facet columns (see cols.go).
	cols *colStore
}

// Mapping returns the explicit event mapping (no dynamic fields).
func Mapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	m.DefaultAnalyzer = keyword.Name
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	dm := bleve.NewDocumentStaticMapping()
	kw := func(dv bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Store = false
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = dv
		return f
	}
	num := func(dv bool) *mapping.FieldMapping {
		f := bleve.NewNumericFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = dv
		return f
	}
	tm := bleve.NewDateTimeFieldMapping()
	// Time is searched by range; results are sorted and bucketed by
	// FieldSortKey, so it needs no doc values. Index.build makes the field
	// itself, with timeTerms' terms, and the index searches it with
	// timeRangeQuery; the date mapping serves documents indexed through
	// the mapping (the query language's tests).
	tm.Store, tm.IncludeInAll, tm.DocValues = false, false, false
	dm.AddFieldMappingsAt(FieldTime, tm)
	dm.AddFieldMappingsAt(FieldSortKey, kw(true))
	dm.AddFieldMappingsAt(FieldFacet, kw(true))
	// Event ID, record ID and level are zero-padded keywords (see
	// qparse.IntKey): one term each instead of sixteen numeric ones.
	// Facets read FieldFacet, so these need no doc values.
	dm.AddFieldMappingsAt(FieldEventID, kw(false))
	dm.AddFieldMappingsAt(FieldRecordID, kw(false))
	dm.AddFieldMappingsAt(FieldLevel, kw(false))
	dm.AddFieldMappingsAt(FieldSigmaMax, num(false))
	dm.AddFieldMappingsAt(FieldIOCCount, num(false))
	for _, f := range []string{FieldChannel, FieldProvider, FieldComputer, FieldFile, FieldKV, FieldUser, FieldSigmaRule, FieldSigmaTitle, FieldSigmaLevel, FieldSigmaPack, FieldIOC, FieldIOCType, FieldTag, FieldStarred, FieldTimeInvalid, FieldRecovered} {
		dm.AddFieldMappingsAt(f, kw(false))
	}
	sf := bleve.NewTextFieldMapping()
	sf.Index, sf.Store, sf.IncludeTermVectors, sf.IncludeInAll, sf.DocValues = false, true, false, false, false
	dm.AddFieldMappingsAt(FieldSummary, sf)
	tf := bleve.NewTextFieldMapping()
	tf.Analyzer = standard.Name
	tf.Store, tf.IncludeTermVectors, tf.IncludeInAll, tf.DocValues = false, false, false, false
	dm.AddFieldMappingsAt(FieldText, tf)
	m.DefaultMapping = dm
	return m
}

// IndexFormat is the version of the index layout this build writes and
// reads. An index of another version must be rebuilt from the evidence
// (the engine does it by requeueing the case's files).
//
// Format 3: documents keyed by record offset (DocRef), every System field
// in the summary and as kv terms, out-of-range times clamped and flagged.
// Format 4: FieldTime holds six prefix-coded terms (timeShift) instead of
// a Bleve date field's sixteen.
const IndexFormat = "4"

// formatKey is the Bleve internal key holding an index's IndexFormat.
var formatKey = []byte("casescope.format")

// ErrIndexFormat reports an index written by a build with another layout.
var ErrIndexFormat = errors.New("index layout is from another casescope version")

// IndexOptions fit an index to the memory it may use.
type IndexOptions struct {
	// MaxSegmentDocs caps the events in one merged segment (0: Bleve's
	// default, five million). A merge reads its source segments through
	// memory maps and builds the new one in the heap, so the cap bounds
	// merge memory; the price is more segments for each search to visit.
	MaxSegmentDocs int
	// PersistNap is how long Bleve's persister pauses between rounds so
	// that the small in-memory segments of many batches (a small file is
	// one batch) are merged in memory and written as one segment, instead
	// of each becoming a file for the background merger to merge again
	// (0: no pause, Bleve's default). Durability of a batch comes up to
	// that much later; searchability does not change. See PersistNapFor.
	PersistNap time.Duration
}

// PersistNapFor is the PersistNap for a memory budget: 500 ms from a
// 1 GiB budget, none below (the in-memory segments that pile up during
// a nap are heap). Measured on the 11,590-file corpus (issue #21): 115 s
// without, 90 s with 500 ms, 88 s with 1 s and 91 s with 2 s, the
// anonymous peak 314, 510, 452 and 672 MiB.
func PersistNapFor(budget uint64) time.Duration {
	if budget < 1<<30 {
		return 0
	}
	return 500 * time.Millisecond
}

// SegmentDocsFor returns the MaxSegmentDocs for a memory budget: a merge
// may read and build about an eighth of the budget, at about 400 bytes of
// segment per event (measured: 0.40 GB per million events on disk). The
// budget counts up to maxMergeBudget: a larger one (the default is 60 %
// of the machine's memory) would let merges build segments of millions
// of events in the heap, so memory would grow with the case (3.2 GiB
// anonymous at 5.56M events with 5M-event segments); capped, a merge
// stays near 128 MiB at any case size, for a few more segments to visit.
func SegmentDocsFor(budget uint64) int {
	const perDoc, floor = 400, 20_000
	n := min(budget, maxMergeBudget) / 8 / perDoc
	return int(max(n, floor))
}

// maxMergeBudget is the most of a memory budget that sizes merges.
const maxMergeBudget = 1 << 30

// OpenIndex opens the case index at dir, creating it if absent. An index
// of another layout gives ErrIndexFormat.
func OpenIndex(dir string, opts IndexOptions) (*Index, error) {
	var idx bleve.Index
	var err error
	// unsafe_batch: Batch returns once the batch is searchable, without
	// waiting for it to be fsynced; callers that need durability (the end
	// of a file) pass sync=true to IndexDocs, which waits for the
	// persisted callback. Persistence is in order, so that also covers the
	// file's earlier batches.
	cfg := map[string]interface{}{"unsafe_batch": true}
	if opts.MaxSegmentDocs > 0 {
		cfg["scorchMergePlanOptions"] = map[string]interface{}{"MaxSegmentSize": opts.MaxSegmentDocs}
	}
	if opts.PersistNap > 0 {
		cfg["scorchPersisterOptions"] = map[string]interface{}{"PersisterNapTimeMSec": int(opts.PersistNap / time.Millisecond)}
	}
	if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
		if err := createIndex(dir); err != nil {
			return nil, err
		}
	}
	idx, err = bleve.OpenUsing(dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", dir, err)
	}
	if v, err := idx.GetInternal(formatKey); err != nil || string(v) != IndexFormat {
		_ = idx.Close()
		if err != nil {
			return nil, fmt.Errorf("open index %s: read format: %w", dir, err)
		}
		return nil, fmt.Errorf("open index %s: format %q, want %q: %w", dir, v, IndexFormat, ErrIndexFormat)
	}
	cache := idx.Mapping().AnalyzerNamed(keyword.Name)
	std := idx.Mapping().AnalyzerNamed(standard.Name)
	x := &Index{idx: idx, path: dir, keyword: cache, standard: std,
		counts: newCountCache(defaultCountCacheBytes), countMinDocs: segCacheMinDocs,
		sortParallelMin: parallelMinMatches, tallyParallelMin: parallelMinDocs,
		cols: newColStore(filepath.Join(dir, "cols"))}
	go x.cols.run(x)
	x.cols.kick() // load or build the columns of the segments there are
	return x, nil
}

// createIndex builds a new empty index beside dir and renames it into
// place, so a crash while creating it never leaves a half-written index
// (Bleve writes its metadata file non-atomically).
func createIndex(dir string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return fmt.Errorf("create index parent: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".index-new-")
	if err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	defer os.RemoveAll(tmp) // no-op after a successful rename
	// bleve.New wants to create the directory itself.
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("create index: %w", err)
	}
	// Created with safe batches: Bleve stores the mapping through a batch,
	// which with unsafe_batch could be dropped by the Close below.
	idx, err := bleve.NewUsing(tmp, Mapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		return fmt.Errorf("create index %s: %w", dir, err)
	}
	if err := idx.SetInternal(formatKey, []byte(IndexFormat)); err != nil {
		_ = idx.Close()
		return fmt.Errorf("create index %s: %w", dir, err)
	}
	if err := idx.Close(); err != nil {
		return fmt.Errorf("close new index: %w", err)
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("place new index: %w", err)
	}
	return syncDir(parent)
}

// syncDir fsyncs a directory so entries created or renamed in it survive
// a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// Close closes the index.
func (x *Index) Close() error {
	x.cols.stop()
	if err := x.idx.Close(); err != nil {
		return fmt.Errorf("close index %s: %w", x.path, err)
	}
	return nil
}

const (
	optsIndex   = index.IndexField
	optsIndexDV = index.IndexField | index.DocValues
)

func (x *Index) kw(doc *document.Document, name, value string, dv bool) {
	o := optsIndex
	if dv {
		o = optsIndexDV
	}
	doc.AddField(document.NewTextFieldCustom(name, nil, []byte(value), o, x.keyword))
}

// indexTime returns the time FieldTime holds for t: t itself, or the
// nearest time Bleve can store (1677–2262, int64 nanoseconds) with
// invalid set. A damaged record's FILETIME 0 (1601) or year 8907 is kept
// this way instead of failing its file; the sort key keeps the true time.
func indexTime(t time.Time) (clamped time.Time, invalid bool) {
	switch {
	case t.Before(document.MinTimeRepresentable):
		return document.MinTimeRepresentable, true
	case t.After(document.MaxTimeRepresentable):
		return document.MaxTimeRepresentable, true
	}
	return t, false
}

// TimeInRange reports whether the index's time field holds t exactly;
// events outside are indexed at a clamped time with time_invalid:true.
func TimeInRange(t time.Time) bool {
	_, invalid := indexTime(t)
	return !invalid
}

func (x *Index) build(d *Doc) (*document.Document, error) {
	ev := d.Event
	ref := RefOf(d.FileID, ev)
	doc := document.NewDocument(ref.ID())
	at, timeInvalid := indexTime(ev.TimeCreated)
	doc.AddField(timeField(at.UnixNano()))
	if timeInvalid {
		x.kw(doc, FieldTimeInvalid, "true", false)
	}
	if ev.Recovered {
		x.kw(doc, FieldRecovered, "true", false)
	}
	x.kw(doc, FieldSortKey, SortKey(ev.TimeCreated, d.FileID, ref.sortTie()), true)
	eid, _ := qparse.IntKey(FieldEventID, uint64(ev.EventID))
	rid, _ := qparse.IntKey(FieldRecordID, ev.RecordID)
	lvl, _ := qparse.IntKey(FieldLevel, uint64(ev.Level))
	x.kw(doc, FieldEventID, eid, false)
	x.kw(doc, FieldRecordID, rid, false)
	x.kw(doc, FieldLevel, lvl, false)
	channel, provider, computer := strings.ToLower(ev.Channel), strings.ToLower(ev.Provider), strings.ToLower(ev.Computer)
	x.kw(doc, FieldChannel, channel, false)
	x.kw(doc, FieldProvider, provider, false)
	x.kw(doc, FieldComputer, computer, false)
	x.kw(doc, FieldFacet, facetTerm(channel, eid, computer, provider), true)
	x.kw(doc, FieldFile, strconv.FormatUint(d.FileID, 10), false)
	if ev.UserID != "" {
		x.kw(doc, FieldUser, strings.ToLower(ev.UserID), false)
	}
	kv := make([]byte, 0, 1024)
	kv = appendSystemKV(kv, ev)
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
			name = name[i+1:] // UserData paths are searched by their leaf name
		}
		kv = appendLower(kv, name)
		kv = append(kv, '=')
		kv = appendLower(kv, v)
		kv = append(kv, kvSep)
		// A long value is free text too, unless it is <Binary>'s hex.
		if textFields[f.Name] || (len(f.Value) > 200 && f.Name != "Binary") {
			text.WriteString(f.Value)
			text.WriteByte('\n')
		}
		if isUserField(name) {
			x.kw(doc, FieldUser, strings.ToLower(v), false)
		}
	}
	doc.AddField(document.NewTextFieldCustom(FieldSummary, nil, encodeSummary(ev, timeInvalid), index.StoreField, noTokens{}))
	if len(kv) > 0 {
		// One field holding every name=value token: one field object and
		// one analysis pass per event instead of one per data field.
		doc.AddField(document.NewTextFieldCustom(FieldKV, nil, kv, optsIndex, splitAnalyzer{}))
	}
	if text.Len() > 0 {
		doc.AddField(document.NewTextFieldCustom(FieldText, nil, []byte(text.String()), optsIndex, x.standard))
	}
	maxRank := 0
	for _, h := range d.Sigma {
		x.kw(doc, FieldSigmaRule, strings.ToLower(h.RuleID), false)
		x.kw(doc, FieldSigmaTitle, strings.ToLower(h.Title), false)
		x.kw(doc, FieldSigmaLevel, strings.ToLower(h.Level), false)
		if h.Pack != "" {
			x.kw(doc, FieldSigmaPack, h.Pack, false)
		}
		if r := level.Rank(h.Level); r > maxRank {
			maxRank = r
		}
	}
	// Numeric fields cost a dozen prefix-coded terms each: only events
	// with detections carry the detection counts.
	if maxRank > 0 {
		doc.AddField(document.NewNumericFieldWithIndexingOptions(FieldSigmaMax, nil, float64(maxRank), optsIndex))
	}
	seen := map[string]bool{}
	for _, h := range d.IOCs {
		if !seen[h.IOCID] {
			seen[h.IOCID] = true
			x.kw(doc, FieldIOC, strings.ToLower(h.IOCID), false)
			x.kw(doc, FieldIOCType, strings.ToLower(h.Type), false)
		}
	}
	if len(seen) > 0 {
		doc.AddField(document.NewNumericFieldWithIndexingOptions(FieldIOCCount, nil, float64(len(seen)), optsIndex))
	}
	for _, t := range d.Tags {
		x.kw(doc, FieldTag, strings.ToLower(t), false)
	}
	return doc, nil
}

// System kv keys: the System fields without a keyword field of their own
// are kv terms under "system.<lower-cased Windows name>" (the query
// language's System.ProcessID, ActivityID, …), apart from the event data
// names some of them share (Sysmon's ProcessId, Version).
const systemKVPrefix = "system."

// appendSystemKV appends the System kv terms of ev. Numbers that Windows
// always writes are terms even when zero; optional strings only when set.
func appendSystemKV(kv []byte, ev *evtx.Event) []byte {
	num := func(kv []byte, name string, n uint64) []byte {
		kv = append(kv, systemKVPrefix...)
		kv = append(kv, name...)
		kv = append(kv, '=')
		kv = strconv.AppendUint(kv, n, 10)
		return append(kv, kvSep)
	}
	str := func(kv []byte, name, v string) []byte {
		if v == "" {
			return kv
		}
		kv = append(kv, systemKVPrefix...)
		kv = append(kv, name...)
		kv = append(kv, '=')
		kv = appendLower(kv, v)
		return append(kv, kvSep)
	}
	kv = num(kv, "version", uint64(ev.Version))
	kv = num(kv, "task", uint64(ev.Task))
	kv = num(kv, "opcode", uint64(ev.Opcode))
	kv = num(kv, "processid", uint64(ev.ProcessID))
	kv = num(kv, "threadid", uint64(ev.ThreadID))
	kv = str(kv, "qualifiers", ev.Qualifiers)
	kv = str(kv, "keywords", ev.Keywords)
	kv = str(kv, "providerguid", ev.ProviderGUID)
	kv = str(kv, "eventsourcename", ev.EventSourceName)
	kv = str(kv, "activityid", ev.ActivityID)
	kv = str(kv, "relatedactivityid", ev.RelatedActivityID)
	return kv
}

func isUserField(name string) bool {
	switch name {
	case "TargetUserName", "SubjectUserName", "User", "UserName", "AccountName", "TargetUser", "SourceUser":
		return true
	}
	return false
}

// IndexDocs writes docs in one Bleve batch. With sync it returns only once
// this batch, and every batch before it, is durable on disk.
func (x *Index) IndexDocs(docs []Doc, sync bool) error {
	b := x.idx.NewBatch()
	var persisted chan error
	if sync {
		persisted = make(chan error, 1)
		b.SetPersistedCallback(func(err error) { persisted <- err })
	}
	for i := range docs {
		doc, err := x.build(&docs[i])
		if err != nil {
			return err
		}
		if err := b.IndexAdvanced(doc); err != nil {
			return fmt.Errorf("batch doc: %w", err)
		}
	}
	err := x.idx.Batch(b)
	x.sawBatch(docs) // also after an error: caches must not outlive a partial batch
	if err != nil {
		return fmt.Errorf("index batch: %w", err)
	}
	if sync && b.Size() > 0 {
		if err := <-persisted; err != nil {
			return fmt.Errorf("persist batch: %w", err)
		}
	}
	return nil
}

// IndexDocsAsync writes docs in one Bleve batch and returns once they are
// searchable; persisted receives nil once this batch and every batch before
// it are durable on disk (or the error). The channel has room for the
// result, so nobody has to wait on it.
func (x *Index) IndexDocsAsync(docs []Doc) (persisted <-chan error, err error) {
	ch := make(chan error, 1)
	b := x.idx.NewBatch()
	b.SetPersistedCallback(func(err error) { ch <- err })
	for i := range docs {
		doc, err := x.build(&docs[i])
		if err != nil {
			return nil, err
		}
		if err := b.IndexAdvanced(doc); err != nil {
			return nil, fmt.Errorf("batch doc: %w", err)
		}
	}
	if b.Size() == 0 {
		ch <- nil
		return ch, nil
	}
	err = x.idx.Batch(b)
	x.sawBatch(docs) // also after an error (see IndexDocs)
	if err != nil {
		return nil, fmt.Errorf("index batch: %w", err)
	}
	return ch, nil
}

// DeleteDocs removes documents by ID, durably.
func (x *Index) DeleteDocs(ids []string) error {
	b := x.idx.NewBatch()
	persisted := make(chan error, 1)
	b.SetPersistedCallback(func(err error) { persisted <- err })
	for _, id := range ids {
		b.Delete(id)
	}
	if len(ids) == 0 {
		return nil
	}
	err := x.idx.Batch(b)
	x.sawDelete()
	if err != nil {
		return fmt.Errorf("delete batch: %w", err)
	}
	if err := <-persisted; err != nil {
		return fmt.Errorf("persist deletes: %w", err)
	}
	return nil
}

// FileDocIDs returns the IDs of all documents of a file.
func (x *Index) FileDocIDs(ctx context.Context, fileID uint64) ([]string, error) {
	q := bleve.NewTermQuery(strconv.FormatUint(fileID, 10))
	q.SetField(FieldFile)
	var out []string
	var after []string
	for {
		req := bleve.NewSearchRequestOptions(q, 10000, 0, false)
		req.SortBy([]string{"_id"})
		if after != nil {
			req.SearchAfter = after
		}
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("list file docs: %w", err)
		}
		for _, h := range res.Hits {
			out = append(out, h.ID)
		}
		if len(res.Hits) < 10000 {
			return out, nil
		}
		after = []string{res.Hits[len(res.Hits)-1].ID}
	}
}

// CountFile counts the documents of one file.
func (x *Index) CountFile(ctx context.Context, fileID uint64) (uint64, error) {
	q := bleve.NewTermQuery(strconv.FormatUint(fileID, 10))
	q.SetField(FieldFile)
	return x.count(ctx, q)
}

// Count counts all documents.
func (x *Index) Count() (uint64, error) {
	n, err := x.idx.DocCount()
	if err != nil {
		return 0, fmt.Errorf("doc count: %w", err)
	}
	return n, nil
}

func (x *Index) count(ctx context.Context, q query.Query) (uint64, error) {
	req := bleve.NewSearchRequestOptions(indexTimeQueries(q), 0, 0, false)
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return res.Total, nil
}

// Bleve exposes the underlying index to this package's search code.
func (x *Index) bleve() bleve.Index { return x.idx }

// DiskSize returns the bytes the index occupies on disk.
func (x *Index) DiskSize() int64 { return dirSize(x.path) }

// FileIDs lists the file IDs that have terms in the index (possibly with
// no live documents left; count them with CountFile).
func (x *Index) FileIDs() ([]uint64, error) {
	d, err := x.idx.FieldDict(FieldFile)
	if err != nil {
		return nil, fmt.Errorf("file dictionary: %w", err)
	}
	defer d.Close()
	var out []uint64
	for {
		e, err := d.Next()
		if err != nil {
			return nil, fmt.Errorf("file dictionary: %w", err)
		}
		if e == nil {
			return out, nil
		}
		if id, err := strconv.ParseUint(e.Term, 10, 64); err == nil {
			out = append(out, id)
		}
	}
}

// CountIDs counts how many of the given document IDs exist.
func (x *Index) CountIDs(ctx context.Context, ids []string) (uint64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	return x.count(ctx, bleve.NewDocIDQuery(ids))
}

// kvSep separates the name=value tokens of FieldKV; it cannot occur in
// event text that matters (NUL is dropped by the EVTX string decoding).
const kvSep = 0

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			// Non-ASCII: fall back to Unicode lower-casing for the rest.
			return append(dst, strings.ToLower(s[i:])...)
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == kvSep {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// splitAnalyzer turns FieldKV's separated tokens into terms, unchanged.
type splitAnalyzer struct{}

// Analyze implements analysis.Analyzer.
func (splitAnalyzer) Analyze(input []byte) analysis.TokenStream {
	n := 0
	for _, c := range input {
		if c == kvSep {
			n++
		}
	}
	out := make(analysis.TokenStream, 0, n+1)
	start, pos := 0, 1
	for i, c := range input {
		if c != kvSep {
			continue
		}
		if i > start {
			out = append(out, &analysis.Token{Start: start, End: i, Term: input[start:i], Position: pos, Type: analysis.AlphaNumeric})
			pos++
		}
		start = i + 1
	}
	if start < len(input) {
		out = append(out, &analysis.Token{Start: start, End: len(input), Term: input[start:], Position: pos, Type: analysis.AlphaNumeric})
	}
	return out
}

// noTokens is the analyzer of stored-only fields: nothing to index.
type noTokens struct{}

// Analyze implements analysis.Analyzer.
func (noTokens) Analyze([]byte) analysis.TokenStream { return nil }
