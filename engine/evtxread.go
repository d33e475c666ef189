package engine

import (
	"context"

	"casescope/evtx"
)

// readOptions are the EVTX reader options of every pass over a file — the
// ingest, exports, re-hunts, bulk tagging and the look-ups that fill result
// rows — so each sees the same records with the same values: AnsiString
// values decoded with the configured code page.
//
// Recovery past a broken record header (evtx.Options.Recover) stays off
// for now: the records it finds are libevtx's own recovered records
// (evtx.TestRecoveredAreLibevtxRecovered: 206 on four malformed corpus
// files), but the ingest's ground-truth tests count libevtx's allocated
// records only; until they also count its recovered ones, the records a
// broken header hides are counted as skipped, with a problem on the file.
func (e *Engine) readOptions() evtx.Options {
	return evtx.Options{CodePage: e.cfg.CodePage}
}

// streamFile streams one evidence file with the engine's reader options.
func (e *Engine) streamFile(ctx context.Context, path string, fn func(*evtx.Event) error) (evtx.Stats, error) {
	return evtx.StreamFileOptions(ctx, path, e.readOptions(), fn)
}

// readChunk re-reads one chunk with the engine's reader options, with each
// event's XML rendering when xml is set.
func (e *Engine) readChunk(path string, chunk int64, xml bool) ([]*evtx.Event, error) {
	o := e.readOptions()
	o.XML = xml
	return evtx.ReadChunkOptions(path, chunk, o)
}
