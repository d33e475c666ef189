package evtx

import (
	"context"
	"io"
	"sync"
	"time"
)

// Chunk is one chunk's events as StreamParallel hands them over.
type Chunk struct {
	Index  int           // the chunk's index in the file
	Events []*Event      // its events, in record order
	Parse  time.Duration // time spent decoding it, on its goroutine
}

// StreamParallel is StreamOptions with up to workers chunks decoded at
// once, so one large file uses several cores. work runs on the decoding
// goroutines, once for every chunk that yielded events, concurrently and
// in no particular order; deliver runs on the caller's goroutine, once for
// every such chunk, in file order, with what work returned for it. The
// events, their order and the Stats are exactly StreamOptions'. At most
// 2×workers chunks are between reading and delivery, so memory stays
// bounded whatever the file's size. An error from work or deliver, or
// ctx's cancellation, stops the stream and is returned once every
// goroutine it started has ended.
func StreamParallel[T any](ctx context.Context, r io.ReaderAt, size int64, opts Options, workers int,
	work func(*Chunk) (T, error), deliver func(*Chunk, T) error) (Stats, error) {
	if workers < 1 {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type job struct {
		st    Stats // this chunk's share of the file's Stats
		buf   []byte
		parse bool // records to decode (else only st's checks)
		off   int64
		avail int
		chunk Chunk
		res   T
		err   error
		done  chan struct{}
	}
	// free recycles chunk buffers; more than it holds are left to the GC.
	free := make(chan []byte, 2*workers+1)
	getBuf := func() []byte {
		select {
		case b := <-free:
			return b
		default:
			return make([]byte, ChunkSize)
		}
	}
	putBuf := func(b []byte) {
		select {
		case free <- b:
		default:
		}
	}

	order := make(chan *job, 2*workers) // file order, bounded: the in-flight limit
	jobs := make(chan *job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newStreamer(opts)
			for j := range jobs {
				t0 := time.Now()
				j.err = s.chunk(ctx, &j.st, j.buf, j.chunk.Index, j.off, j.avail, func(ev *Event) error {
					j.chunk.Events = append(j.chunk.Events, ev)
					return nil
				})
				j.chunk.Parse = time.Since(t0)
				putBuf(j.buf) // events never refer to the chunk's bytes
				j.buf = nil
				if j.err == nil && len(j.chunk.Events) > 0 {
					j.res, j.err = work(&j.chunk)
				}
				close(j.done)
			}
		}()
	}

	var head Stats // the file header's findings: they come first
	scanned := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(jobs)
		var cur *job
		// flush hands over a chunk that was only checked, when its
		// checks found something (its Stats must be merged in order).
		flush := func() {
			if cur == nil || cur.parse {
				return
			}
			putBuf(cur.buf)
			cur.buf = nil
			if cur.st.SkippedChunks == 0 && cur.st.StaleChunks == 0 && len(cur.st.Problems) == 0 {
				return
			}
			close(cur.done)
			select {
			case order <- cur:
			case <-ctx.Done():
			}
		}
		err := scan(ctx, r, size, &head, func(i int) (*Stats, []byte) {
			flush()
			cur = &job{buf: getBuf(), chunk: Chunk{Index: i}, done: make(chan struct{})}
			return &cur.st, cur.buf
		}, func(_ *Stats, _ []byte, _ int, off int64, avail int) error {
			cur.parse, cur.off, cur.avail = true, off, avail
			select {
			case order <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- cur:
				return nil
			case <-ctx.Done():
				// Queued for delivery but never decoded.
				cur.err = ctx.Err()
				close(cur.done)
				return ctx.Err()
			}
		})
		flush()
		scanned <- err
	}()

	var acc Stats
	var err error
	for j := range order {
		<-j.done
		if err != nil {
			continue // draining after a failure
		}
		if j.err != nil {
			err = j.err
			cancel()
			continue
		}
		acc.add(&j.st)
		if j.parse && len(j.chunk.Events) > 0 {
			if derr := deliver(&j.chunk, j.res); derr != nil {
				err = derr
				cancel()
			}
		}
		j.chunk.Events = nil
	}
	wg.Wait()
	if serr := <-scanned; err == nil {
		err = serr
	}
	head.add(&acc)
	return head, err
}

// add merges the Stats of later chunks into s: counts add up, problems
// and warnings follow s's in order, within the cap.
func (s *Stats) add(o *Stats) {
	s.Chunks += o.Chunks
	s.SkippedChunks += o.SkippedChunks
	s.StaleChunks += o.StaleChunks
	s.RecordsExpected += o.RecordsExpected
	s.Records += o.Records
	s.RecordsRecovered += o.RecordsRecovered
	s.SkippedRecords += o.SkippedRecords
	s.StaleRecords += o.StaleRecords
	s.Truncated = s.Truncated || o.Truncated
	for i := range o.Problems {
		if len(s.Problems) >= maxProblems {
			break
		}
		s.Problems = append(s.Problems, o.Problems[i])
		s.Warnings = append(s.Warnings, o.Warnings[i])
	}
}
