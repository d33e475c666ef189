package engine

import (
	"context"
	"fmt"
	"os"

	"casescope/evtx"
	"casescope/input"
	"casescope/store"
)

// readOptions are the EVTX reader options of every pass over a file — the
// ingest, exports, re-hunts, bulk tagging and the look-ups that fill result
// rows — so each sees the same records with the same values: AnsiString
// values decoded with the configured code page.
//
// Recovery past a broken record header (evtx.Options.Recover) is on: the
// live records a broken header hides are delivered, flagged Recovered
// (indexed recovered:true, counted per file), exactly libevtx's live
// recovered records (evtx.TestRecoveredAreLibevtxRecovered: 166 on three
// malformed corpus files); slack records numbered outside the chunk's
// range are counted as stale, not indexed. The ingest's ground truth is
// libevtx's allocated plus live recovered records (corpus.Expected).
func (e *Engine) readOptions() evtx.Options {
	return evtx.Options{CodePage: e.cfg.CodePage, Recover: true}
}

// streamFile streams one evidence file, of any format package input
// reads (told by content), with the engine's reader options.
func (e *Engine) streamFile(ctx context.Context, path string, fn func(*evtx.Event) error) (evtx.Stats, error) {
	st, _, err := e.streamInput(ctx, path, fn)
	return st, err
}

// streamInput is streamFile that also returns the format found.
func (e *Engine) streamInput(ctx context.Context, path string, fn func(*evtx.Event) error) (evtx.Stats, input.Format, error) {
	return input.Stream(ctx, path, e.readOptions(), fn)
}

// readChunk re-reads one chunk of an EVTX file with the engine's reader
// options, with each event's XML rendering when xml is set.
func (e *Engine) readChunk(path string, chunk int64, xml bool) ([]*evtx.Event, error) {
	o := e.readOptions()
	o.XML = xml
	return evtx.ReadChunkOptions(path, chunk, o)
}

// isEVTX reports whether a file record is an EVTX file (records made
// before formats were recorded are).
func isEVTX(f store.File) bool { return f.Format == "" || f.Format == string(input.EVTX) }

// readRecords reads back the events refs name, all in one chunk of f: an
// EVTX file's chunk is read whole (with XML renderings when xml is set),
// a text file's records one by one at their offsets. A record that
// cannot be read is left out.
func (e *Engine) readRecords(f store.File, chunk int64, refs []store.DocRef, xml bool) ([]*evtx.Event, error) {
	if isEVTX(f) {
		return e.readChunk(f.Path, chunk, xml)
	}
	var evs []*evtx.Event
	var first error
	for _, r := range refs {
		if r.Offset == 0 {
			continue
		}
		ev, err := input.ReadAt(context.Background(), f.Path, input.Format(f.Format), chunk*evtx.ChunkSize, r.Offset)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("read record of %s: %w", f.Name, err)
			}
			continue
		}
		if !xml {
			ev.XML = "" // as from EVTX: the rendering only when asked for
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 && first != nil {
		return nil, first
	}
	return evs, nil
}

// streamParallel streams one EVTX file with several chunks decoded at once
// (evtx.StreamParallel) and the engine's reader options.
func (e *Engine) streamParallel(ctx context.Context, path string, workers int,
	work func(*evtx.Chunk) ([]pendingDoc, error), deliver func(*evtx.Chunk, []pendingDoc) error) (evtx.Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return evtx.Stats{}, fmt.Errorf("open evtx: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return evtx.Stats{}, fmt.Errorf("stat evtx: %w", err)
	}
	return evtx.StreamParallel(ctx, f, fi.Size(), e.readOptions(), workers, work, deliver)
}

// chunkWorkers is how many goroutines decode one large file's chunks.
func (e *Engine) chunkWorkers() int {
	if e.cfg.ChunkWorkers > 0 {
		return e.cfg.ChunkWorkers
	}
	return e.cfg.Workers
}

// chunkParallel reports whether the file at path (size bytes) is read
// chunk-parallel: an EVTX file of parallelMinBytes or more, with more
// than one chunk worker.
func (e *Engine) chunkParallel(path string, size int64) bool {
	if e.chunkWorkers() <= 1 || size < parallelMinBytes {
		return false
	}
	f, err := input.Detect(path)
	return err == nil && f == input.EVTX
}
