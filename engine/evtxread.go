package engine

import (
	"context"

	"casescope/evtx"
)

// readOptions are the EVTX reader options of every pass over a file — the
// ingest, exports, re-hunts, bulk tagging and the look-ups that fill result
// rows — so each sees the same records with the same values: records after
// a broken record header in a damaged chunk are recovered (counted in the
// file's records_recovered; a clean file yields exactly libevtx's records),
// and AnsiString values are decoded with the configured code page.
func (e *Engine) readOptions() evtx.Options {
	return evtx.Options{Recover: true, CodePage: e.cfg.CodePage}
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
