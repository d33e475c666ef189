package engine

import (
	"context"
	"fmt"

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
	idx, err := e.Index(caseID)
	if err != nil {
		return SearchPage{}, err
	}
	res, err := idx.Search(ctx, req)
	if err != nil {
		return SearchPage{}, err
	}
	page := SearchPage{Total: res.Total, Next: res.Next, Facets: res.Facets, Histogram: res.Histogram,
		TookMS: float64(res.Took.Microseconds()) / 1000, Hits: make([]EventView, 0, len(res.Hits))}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	views, err := e.hydrate(ctx, caseID, ids)
	if err != nil {
		return SearchPage{}, err
	}
	page.Hits = views
	return page, nil
}

// Event returns one event by its document ID.
func (e *Engine) Event(ctx context.Context, caseID uint64, id string) (EventView, error) {
	if _, _, _, ok := store.ParseDocID(id); !ok {
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

type chunkKey struct {
	file  uint64
	chunk int64
}

// hydrate reads the events behind document IDs, one chunk read per
// distinct chunk. An event whose file is gone is returned without Event.
func (e *Engine) hydrate(ctx context.Context, caseID uint64, ids []string) ([]EventView, error) {
	files := map[uint64]store.File{}
	chunks := map[chunkKey]map[uint64]*evtx.Event{}
	out := make([]EventView, 0, len(ids))
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fid, chunk, rec, ok := store.ParseDocID(id)
		if !ok {
			continue
		}
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
		recs, ok := chunks[k]
		if !ok {
			recs = map[uint64]*evtx.Event{}
			if f.Path != "" {
				evs, err := evtx.ReadChunk(f.Path, chunk)
				if err == nil {
					for _, ev := range evs {
						recs[ev.RecordID] = ev
					}
				}
			}
			chunks[k] = recs
		}
		v := EventView{ID: id, FileID: fid, FileName: f.Name, Event: recs[rec], Sigma: []store.SigmaHit{}, IOCs: []store.IOCHit{}}
		if v.Event != nil {
			v.Description = describe.DescribeEvent(v.Event.Channel, v.Event.Provider, v.Event.EventID)
		}
		if h, err := e.ledger.EventHitsOf(caseID, fid, id); err == nil {
			v.Sigma, v.IOCs = h.Sigma, h.IOCs
		}
		if t, err := e.ledger.Tag(caseID, id); err == nil {
			v.Tag = &t
		}
		out = append(out, v)
	}
	return out, nil
}
