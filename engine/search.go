package engine

import (
	"context"
	"fmt"
	"sync"

	"casescope/evtx"
	"casescope/store"
	"casescope/store/describe"
)

// EventView is an event as shown to the analyst: the full event re-read
// from its EVTX chunk, with its file and detections.
type EventView struct {
	ID       string      `json:"id"`
	FileID   uint64      `json:"file_id"`
	FileName string      `json:"file_name"`
	Event    *evtx.Event `json:"event"`
	// Description is the built-in meaning of the event ID ("An account
	// was successfully logged on"), empty when unknown.
	Description string           `json:"description"`
	Sigma       []store.SigmaHit `json:"sigma"`
	IOCs        []store.IOCHit   `json:"iocs"`
	Tag         *store.Tag       `json:"tag,omitempty"`
	// Comments is the event's comment thread, oldest first.
	Comments []store.Comment `json:"comments,omitempty"`
	// TimeInvalid marks an event whose time lies outside what the index
	// can hold (1677–2262): Event.TimeCreated is still its true time; the
	// index holds a clamped one (query time_invalid:true).
	TimeInvalid bool `json:"time_invalid,omitempty"`
	// Partial marks a result-list view: Event holds the System fields and
	// only a few data fields; Event (the API's /events/{id}) has all.
	Partial bool `json:"partial,omitempty"`
}

// SearchPage is one page of search results with events filled in.
type SearchPage struct {
	Total     uint64                        `json:"total"`
	Hits      []EventView                   `json:"hits"`
	Next      string                        `json:"next,omitempty"`
	Facets    map[string][]store.FacetCount `json:"facets,omitempty"`
	Histogram []store.Bucket                `json:"histogram,omitempty"`
	TookMS    float64                       `json:"took_ms"`
}

// Search runs a query on a case's index and reads the page's events back
// from their files.
func (e *Engine) Search(ctx context.Context, caseID uint64, req store.SearchRequest) (SearchPage, error) {
	return e.SearchData(ctx, caseID, req, maxListChunks)
}

// MaxDataChunks is the most EVTX chunks SearchData reads for one page:
// a page of 1,000 rows ordered by a field may touch as many chunks.
const MaxDataChunks = 1000

// SearchData is Search reading up to chunks EVTX chunks (at most
// MaxDataChunks) to give the page's rows their data fields: more than
// Search's few when the rows show data columns.
func (e *Engine) SearchData(ctx context.Context, caseID uint64, req store.SearchRequest, chunks int) (SearchPage, error) {
	chunks = min(max(chunks, 0), MaxDataChunks)
	idx, err := e.Index(caseID)
	if err != nil {
		return SearchPage{}, err
	}
	req.QueryOptions.FileIDs = e.fileResolver(caseID)
	res, err := idx.Search(ctx, req)
	if err != nil {
		return SearchPage{}, err
	}
	e.restoreFacetCase(ctx, caseID, idx, res.Facets, res.Hits)
	page := SearchPage{Total: res.Total, Next: res.Next, Facets: res.Facets, Histogram: res.Histogram,
		TookMS: float64(res.Took.Microseconds()) / 1000, Hits: make([]EventView, 0, len(res.Hits))}
	// The result list is built from the index's stored summaries; no
	// EVTX is read (Event gives the whole event for the detail view).
	views := make([]EventView, 0, len(res.Hits))
	files := map[uint64]store.File{}
	for _, h := range res.Hits {
		views = append(views, e.summaryView(caseID, h, files))
	}
	e.fillData(views, files, chunks)
	page.Hits = views
	return page, nil
}

// summaryView turns a search hit into a view with a partial event: the
// System fields of the stored summary.
func (e *Engine) summaryView(caseID uint64, h store.SearchHit, files map[uint64]store.File) EventView {
	if h.Stored != nil {
		return storedView(h.ID, *h.Stored)
	}
	ref, _ := store.ParseDocID(h.ID)
	fid := ref.File
	f, ok := files[fid]
	if !ok {
		f, _ = e.ledger.File(caseID, fid)
		files[fid] = f
	}
	s := h.Summary
	ev := &evtx.Event{RecordID: s.RecordID, EventID: s.EventID, Qualifiers: s.Qualifiers, Version: s.Version,
		Level: s.Level, Task: s.Task, Opcode: s.Opcode, Keywords: s.Keywords, TimeCreated: h.Time,
		Channel: s.Channel, Provider: s.Provider, ProviderGUID: s.ProviderGUID, EventSourceName: s.EventSourceName,
		Computer: s.Computer, ProcessID: s.ProcessID, ThreadID: s.ThreadID, UserID: s.UserID,
		ActivityID: s.ActivityID, RelatedActivityID: s.RelatedActivityID,
		ChunkOffset: ref.Chunk * evtx.ChunkSize, RecordOffset: s.RecordOffset, Recovered: s.Recovered}
	v := EventView{ID: h.ID, FileID: fid, FileName: f.Name, Event: ev, Partial: true, TimeInvalid: s.TimeInvalid,
		Description: describe.DescribeEvent(s.Channel, s.Provider, s.EventID), Sigma: []store.SigmaHit{}, IOCs: []store.IOCHit{}}
	if hits, err := e.ledger.EventHitsOf(caseID, fid, h.ID); err == nil {
		v.Sigma, v.IOCs = hits.Sigma, hits.IOCs
	}
	if t, err := e.ledger.Tag(caseID, h.ID); err == nil {
		v.Tag = &t
	}
	v.Comments, _ = e.ledger.Comments(caseID, h.ID)
	return v
}

// storedView is the view of another data directory's event in a cluster
// case, from the whole event the cluster keeps: this ledger has neither
// its file nor its tag and comments.
func storedView(id string, se store.StoredEvent) EventView {
	ev := se.Event
	v := EventView{ID: id, FileName: se.FileName, Event: ev, Sigma: se.Sigma, IOCs: se.IOCs,
		Description: describe.DescribeEvent(ev.Channel, ev.Provider, ev.EventID), TimeInvalid: !store.TimeInRange(ev.TimeCreated)}
	if v.Sigma == nil {
		v.Sigma = []store.SigmaHit{}
	}
	if v.IOCs == nil {
		v.IOCs = []store.IOCHit{}
	}
	return v
}

// storedEvents is what the engine asks of a store that keeps whole
// events (the cluster): another data directory's event by its ID.
type storedEvents interface {
	StoredEvent(ctx context.Context, id string) (store.StoredEvent, error)
}

// maxListChunks bounds the EVTX chunks read to show data fields in one
// result page (each costs a few milliseconds of parsing); rows beyond it
// show System fields only until opened.
const maxListChunks = 12

// fillData reads the chunks of the first rows of a page (up to maxChunks
// distinct chunks, two at a time) and gives those rows their full data
// fields. Rows it does not reach stay Partial.
func (e *Engine) fillData(views []EventView, files map[uint64]store.File, maxChunks int) {
	type job struct {
		key  chunkKey
		file store.File
		refs []store.DocRef // the records wanted (text files are read by record)
		evs  []*evtx.Event
	}
	var jobs []*job
	byKey := map[chunkKey]*job{}
	for _, v := range views {
		k := chunkKey{v.FileID, v.Event.ChunkOffset / evtx.ChunkSize}
		ref, _ := store.ParseDocID(v.ID)
		if j, ok := byKey[k]; ok {
			j.refs = append(j.refs, ref)
			continue
		}
		if len(jobs) >= maxChunks {
			continue
		}
		f := files[v.FileID]
		if f.Path == "" {
			continue
		}
		j := &job{key: k, file: f, refs: []store.DocRef{ref}}
		byKey[k] = j
		jobs = append(jobs, j)
	}
	var wg sync.WaitGroup
	next := make(chan *job)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				evs, err := e.readRecords(j.file, j.key.chunk, j.refs, false)
				if err != nil {
					continue
				}
				j.evs = evs
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	for i := range views {
		v := &views[i]
		j, ok := byKey[chunkKey{v.FileID, v.Event.ChunkOffset / evtx.ChunkSize}]
		if !ok || j.evs == nil {
			continue
		}
		if ref, ok := store.ParseDocID(v.ID); ok {
			if ev := findRecord(j.evs, ref); ev != nil {
				v.Event, v.Partial = ev, false
			}
		}
	}
}

// SearchFull is Search with every event read back whole from its file
// (one chunk read per distinct chunk), for reports.
func (e *Engine) SearchFull(ctx context.Context, caseID uint64, req store.SearchRequest) (SearchPage, error) {
	page, err := e.Search(ctx, caseID, req)
	if err != nil {
		return page, err
	}
	ids := make([]string, len(page.Hits))
	for i, h := range page.Hits {
		ids[i] = h.ID
	}
	full, err := e.hydrate(ctx, caseID, ids)
	if err != nil {
		return page, err
	}
	page.Hits = full
	return page, nil
}

// Event returns one event by its document ID.
func (e *Engine) Event(ctx context.Context, caseID uint64, id string) (EventView, error) {
	if _, ok := store.ParseDocID(id); !ok {
		if store.IsForeignID(id) {
			return e.foreignEvent(ctx, caseID, id)
		}
		return EventView{}, fmt.Errorf("event %q: %w", id, store.ErrNotFound)
	}
	v, err := e.hydrate(ctx, caseID, []string{id})
	if err != nil {
		return EventView{}, err
	}
	if len(v) == 0 || v[0].Event == nil {
		return EventView{}, fmt.Errorf("event %q: %w", id, store.ErrNotFound)
	}
	return v[0], nil
}

// foreignEvent reads another data directory's event of a cluster case
// whole from the cluster.
func (e *Engine) foreignEvent(ctx context.Context, caseID uint64, id string) (EventView, error) {
	idx, err := e.Index(caseID)
	if err != nil {
		return EventView{}, err
	}
	se, ok := idx.(storedEvents)
	if !ok {
		return EventView{}, fmt.Errorf("event %q: %w", id, store.ErrNotFound)
	}
	ev, err := se.StoredEvent(ctx, id)
	if err != nil {
		return EventView{}, err
	}
	return storedView(id, ev), nil
}

// findRecord returns the event of a chunk that ref names, nil when none.
// A chunk holds at most a few hundred records: a scan beats a map.
func findRecord(evs []*evtx.Event, ref store.DocRef) *evtx.Event {
	for _, ev := range evs {
		if ref.Matches(ev) {
			return ev
		}
	}
	return nil
}

// EventXML returns one event's Event Viewer-style XML, rendered from its
// record by the EVTX reader (the event text is the evidence's: hostile).
func (e *Engine) EventXML(ctx context.Context, caseID uint64, id string) (string, error) {
	ref, ok := store.ParseDocID(id)
	if !ok {
		return "", fmt.Errorf("event %q: %w", id, store.ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f, err := e.ledger.File(caseID, ref.File)
	if err != nil {
		return "", fmt.Errorf("event %q: %w", id, err)
	}
	if f.Path == "" {
		return "", fmt.Errorf("event %q: file gone: %w", id, store.ErrNotFound)
	}
	evs, err := e.readRecords(f, ref.Chunk, []store.DocRef{ref}, true)
	if err != nil {
		return "", fmt.Errorf("event %q: file gone or unreadable: %w", id, store.ErrNotFound)
	}
	ev := findRecord(evs, ref)
	if ev == nil {
		return "", fmt.Errorf("event %q: %w", id, store.ErrNotFound)
	}
	if ev.XML == "" {
		return "", fmt.Errorf("event %q: no XML rendering from this reader: %w", id, store.ErrNotFound)
	}
	return ev.XML, nil
}

type chunkKey struct {
	file  uint64
	chunk int64
}

// hydrate reads the events behind document IDs, one chunk read per
// distinct chunk. An event whose file is gone is returned without Event.
func (e *Engine) hydrate(ctx context.Context, caseID uint64, ids []string) ([]EventView, error) {
	files := map[uint64]store.File{}
	chunks := map[chunkKey][]*evtx.Event{}
	out := make([]EventView, 0, len(ids))
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ref, ok := store.ParseDocID(id)
		if !ok {
			if store.IsForeignID(id) {
				if v, err := e.foreignEvent(ctx, caseID, id); err == nil {
					out = append(out, v)
				}
			}
			continue
		}
		fid, chunk := ref.File, ref.Chunk
		f, ok := files[fid]
		if !ok {
			var err error
			f, err = e.ledger.File(caseID, fid)
			if err != nil {
				f = store.File{ID: fid}
			}
			files[fid] = f
		}
		k := chunkKey{fid, chunk}
		evs, ok := chunks[k]
		if !ok {
			if f.Path != "" {
				evs, _ = e.readRecords(f, chunk, []store.DocRef{ref}, false)
			}
			if isEVTX(f) {
				// A text file's records are read one by one; a chunk of
				// EVTX is read once for all its records.
				chunks[k] = evs
			}
		}
		v := EventView{ID: id, FileID: fid, FileName: f.Name, Event: findRecord(evs, ref), Sigma: []store.SigmaHit{}, IOCs: []store.IOCHit{}}
		if v.Event != nil {
			v.Description = describe.DescribeEvent(v.Event.Channel, v.Event.Provider, v.Event.EventID)
			v.TimeInvalid = !store.TimeInRange(v.Event.TimeCreated)
		}
		if h, err := e.ledger.EventHitsOf(caseID, fid, id); err == nil {
			v.Sigma, v.IOCs = h.Sigma, h.IOCs
		}
		if t, err := e.ledger.Tag(caseID, id); err == nil {
			v.Tag = &t
		}
		v.Comments, _ = e.ledger.Comments(caseID, id)
		out = append(out, v)
	}
	return out, nil
}
