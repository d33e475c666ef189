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
// Recovery past a broken record header (evtx.Options.Recover) stays off:
// on the shared corpus's malformed files it delivers records that neither
// libevtx nor python-evtx nor evtx-rs count (449 for 335 in
// sample-with-zero-data-size-event.evtx, stale copies in chunk slack), so
// the records a broken header hides are counted as skipped with a problem
// on the file instead, until recovered records can be told from stale
// ones.
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
