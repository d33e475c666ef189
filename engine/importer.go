package engine

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"casescope/input"
	"casescope/store"
)

// Limits against hostile archives.
const (
	// defaultZipEntries is Config.MaxZipEntries' default: an archive with
	// more entries is refused whole, as one record (a case folder of a
	// few hundred hosts' logs has a few thousand files).
	defaultZipEntries = 10_000
	// An archive, nested archives included, may expand to at most
	// zipTotalRatio times its own size, or zipTotalFloor bytes when that
	// is more: real EVTX compresses ~15:1 on the whole (empty slack
	// ~300:1 at best), so only a bomb made of entries each under the
	// per-entry limit reaches it.
	zipTotalRatio = 100
	zipTotalFloor = 256 << 20
	// An entry expanding over maxZipRatio:1 to more than zipRatioFloor
	// bytes is a bomb: real EVTX compresses ~10-300:1 (empty slack is the
	// best case), and deflate cannot exceed ~1032:1.
	maxZipRatio      = 500
	zipRatioFloor    = 64 << 20
	maxZipDepth      = 2   // zips inside zips
	importFlushBatch = 500 // files per ledger transaction during import
)

// ImportResult describes what an import recorded.
type ImportResult struct {
	FileIDs  []uint64 `json:"file_ids"`
	Queued   int      `json:"queued"`
	Rejected int      `json:"rejected"`
	Dupes    int      `json:"duplicates"`
	// AlreadyRecorded counts files skipped because the case already holds
	// a record of the same source path with the same sha256 (a re-run of
	// an interrupted import); ExistingIDs are those records.
	AlreadyRecorded int      `json:"already_recorded"`
	ExistingIDs     []uint64 `json:"existing_file_ids,omitempty"`
}

type importer struct {
	e       *Engine
	c       store.Case
	dirs    caseDirs
	pending []store.NewFile
	res     ImportResult
	// reserved are the contents this import placed as originals and has
	// not yet recorded (keys of Engine.placing), released by flush.
	reserved []string
	// bySource maps source path → the case's records of it, loaded on
	// first use (nil until then).
	bySource map[string][]store.File
	// ctx, when set, ends a copy in progress (shutdown).
	ctx context.Context
}

// Import copies the given files, folders and ZIP archives into the case
// and queues every evidence file (EVTX or another format package input
// reads, told by content) for processing. Files of no such format, and
// unsafe or oversized archive entries, are recorded as failed with the
// reason; nothing is silently dropped. It returns once everything is
// recorded; processing continues on the engine's workers.
func (e *Engine) Import(ctx context.Context, caseID uint64, paths []string) (ImportResult, error) {
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return ImportResult{}, err
	}
	im := &importer{e: e, c: c, dirs: e.caseDirs(caseID), ctx: ctx}
	defer im.release()
	if err := im.dirs.ensure(); err != nil {
		return ImportResult{}, err
	}
	for _, p := range paths {
		err := ctx.Err()
		if err == nil {
			err = im.addPath(ctx, p)
		}
		if err != nil {
			// What was placed before the stop is recorded (queued), so
			// no copy is left in the case unrecorded.
			if ferr := im.flush(); ferr != nil {
				err = errors.Join(err, ferr)
			}
			im.e.wake()
			return im.res, err
		}
	}
	if err := im.flush(); err != nil {
		return im.res, err
	}
	e.log.Info("import recorded", "case_id", caseID, "files", len(im.res.FileIDs), "queued", im.res.Queued,
		"rejected", im.res.Rejected, "duplicates", im.res.Dupes)
	e.checkQueue(im.res)
	e.wake()
	return im.res, nil
}

func (im *importer) addPath(ctx context.Context, p string) error {
	abs, err := filepath.Abs(p)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", p, err)
	}
	st, err := os.Lstat(abs)
	if err != nil {
		return fmt.Errorf("import %s: %w", p, err)
	}
	if !st.IsDir() {
		return im.addFile(ctx, abs, filepath.Base(abs), 0)
	}
	root := filepath.Dir(abs)
	return filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return im.reject(relName(root, path), path, fmt.Sprintf("cannot read: %s", err.Error()))
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return im.reject(relName(root, path), path, "not a regular file (symlink or device)")
		}
		return im.addFile(ctx, path, relName(root, path), 0)
	})
}

func relName(root, p string) string {
	r, err := filepath.Rel(root, p)
	if err != nil {
		return filepath.Base(p)
	}
	return filepath.ToSlash(r)
}

// rejectFile is reject for a whole file that exists at content (an
// upload of no known format, a refused archive): the record gets the
// file's size and SHA-256, so a refused file is identified like any
// other. A file that cannot be read is recorded without them.
func (im *importer) rejectFile(name, path, content, reason string) error {
	nf := store.NewFile{Name: name, Path: path, State: store.StateFailed, Error: "rejected: " + reason}
	if sum, size, err := hashFile(content); err == nil {
		nf.SHA256, nf.Size = sum, size
	}
	im.pending = append(im.pending, nf)
	im.res.Rejected++
	return im.maybeFlush()
}

func (im *importer) reject(name, path, reason string) error {
	im.pending = append(im.pending, store.NewFile{Name: name, Path: path, State: store.StateFailed, Error: "rejected: " + reason})
	im.res.Rejected++
	return im.maybeFlush()
}

func (im *importer) maybeFlush() error {
	if len(im.pending) >= importFlushBatch {
		return im.flush()
	}
	return nil
}

func (im *importer) flush() error {
	if len(im.pending) == 0 {
		return nil
	}
	recs, err := im.e.ledger.AddFiles(im.c.ID, im.pending)
	if err != nil {
		return fmt.Errorf("record files: %w", err)
	}
	// The ledger now holds the originals: later imports find them there.
	im.release()
	im.e.fault("import-recorded")
	for _, r := range recs {
		im.res.FileIDs = append(im.res.FileIDs, r.ID)
		// Counted from what the ledger recorded, so the answer agrees
		// with the records whatever ran concurrently.
		switch r.State {
		case store.StateQueued:
			im.res.Queued++
		case store.StateDuplicate:
			im.res.Dupes++
		}
	}
	im.pending = im.pending[:0]
	im.e.wake()
	return nil
}

// release drops this import's content reservations (after its records
// are committed, or when it gives up).
func (im *importer) release() {
	if len(im.reserved) == 0 {
		return
	}
	im.e.placeMu.Lock()
	for _, k := range im.reserved {
		delete(im.e.placing, k)
	}
	im.e.placeMu.Unlock()
	im.reserved = im.reserved[:0]
}

// addFile imports one regular file: a ZIP is extracted, an EVTX is copied
// into uploads/ (or duplicates/), anything else is rejected.
func (im *importer) addFile(ctx context.Context, path, name string, depth int) error {
	kind, err := sniff(path)
	if err != nil {
		return im.rejectFile(name, path, path, err.Error())
	}
	switch kind {
	case kindZip:
		if depth >= maxZipDepth {
			return im.rejectFile(name, path, path, "archive nested too deeply")
		}
		return im.addZip(ctx, path, name, depth+1, path, nil)
	case kindEvidence:
		return im.addEVTX(path, name, path, false)
	default:
		return im.rejectFile(name, path, path, notEvidence(path))
	}
}

type fileKind int

const (
	kindOther    fileKind = iota
	kindEvidence          // EVTX, or any other format package input reads
	kindZip
)

// sniff tells an evidence file (by content: package input's detection)
// and a ZIP archive from anything else.
func sniff(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return kindOther, fmt.Errorf("cannot open: %w", err)
	}
	defer f.Close()
	var b [8]byte
	n, _ := io.ReadFull(f, b[:])
	switch {
	case n == 8 && string(b[:]) == "ElfFile\x00":
		return kindEvidence, nil
	case n >= 4 && string(b[:4]) == "PK\x03\x04":
		return kindZip, nil
	}
	if _, err := input.Detect(path); err == nil {
		return kindEvidence, nil
	}
	return kindOther, nil
}

// notEvidence is the rejection reason of a file sniff calls kindOther.
func notEvidence(path string) string {
	_, err := input.Detect(path)
	if err == nil {
		return "not an EVTX file or a supported log format"
	}
	return "not an EVTX file or a supported log format (" + err.Error() + ")"
}

// safeBase reduces a name to a safe file name component.
func safeBase(name string) string {
	base := filepath.Base(filepath.FromSlash(strings.ReplaceAll(name, "\\", "/")))
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("._-@%+ ", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := strings.TrimLeft(b.String(), ". ")
	if len(s) > 120 {
		s = s[len(s)-120:]
	}
	if s == "" {
		s = "file.evtx"
	}
	return s
}

// addEVTX copies (or, for a file already in staging, moves) an EVTX file
// into the case, hashing it on the way. source is where an import read it
// from ("" for uploads): a file the case already holds from the same
// source with the same content is skipped (see ImportResult).
func (im *importer) addEVTX(src, name, source string, staged bool) error {
	if source != "" && !staged {
		// Hash in place first: a re-run must not copy what it skips.
		if recs, err := im.recordsOf(source); err != nil {
			return err
		} else if len(recs) > 0 {
			sum, _, err := hashFile(src)
			if err != nil {
				return im.reject(name, src, err.Error())
			}
			if im.skipRecorded(source, sum) {
				return nil
			}
		}
	}
	if !staged {
		// Room for the copy and its index, or the import stops here.
		if st, err := os.Stat(src); err == nil {
			if err := im.e.checkSpace("import "+name, im.dirs.uploads, satAdd(uint64(st.Size()), im.e.indexNeed(st.Size()))); err != nil {
				return err
			}
		}
	}
	// The format by content (JSON is refined to Windows events when its
	// records are read); recorded so the file list shows it while queued.
	format, _ := input.Detect(src)
	tmp, sum, size, err := im.stage(src, staged)
	if err != nil {
		if isNoSpace(err) {
			return im.e.storageError("import "+name, im.dirs.staging, err)
		}
		if im.ctx != nil && im.ctx.Err() != nil {
			return im.ctx.Err() // interrupted, not the file's fault
		}
		return im.reject(name, src, err.Error())
	}
	if source != "" && staged {
		if _, err := im.recordsOf(source); err != nil {
			os.Remove(tmp)
			return err
		}
		if im.skipRecorded(source, sum) {
			os.Remove(tmp)
			return nil
		}
	}
	dst, err := im.place(tmp, sum, size, name)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	im.e.fault("import-placed")
	im.pending = append(im.pending, store.NewFile{Name: name, SHA256: sum, Size: size, Path: dst, State: store.StateQueued, Source: source, Format: string(format)})
	return im.maybeFlush()
}

// recordsOf returns the case's records imported from source, loading
// the case's records once per import.
func (im *importer) recordsOf(source string) ([]store.File, error) {
	if im.bySource == nil {
		files, err := im.e.ledger.Files(im.c.ID)
		if err != nil {
			return nil, fmt.Errorf("list recorded files: %w", err)
		}
		im.bySource = map[string][]store.File{}
		for _, f := range files {
			if f.Source != "" {
				im.bySource[f.Source] = append(im.bySource[f.Source], f)
			}
		}
	}
	return im.bySource[source], nil
}

// skipRecorded reports (and counts) a source already recorded with this
// content: re-running an interrupted import adds neither a record nor a
// copy; the earlier record's work resumes on the engine.
func (im *importer) skipRecorded(source, sum string) bool {
	for _, f := range im.bySource[source] {
		if f.SHA256 == sum {
			im.res.AlreadyRecorded++
			im.res.ExistingIDs = append(im.res.ExistingIDs, f.ID)
			return true
		}
	}
	return false
}

// contentKey names one content (sha256) in one case.
func contentKey(caseID uint64, sum string) string {
	return strconv.FormatUint(caseID, 10) + "/" + sum
}

// place puts the staged content tmp into the case and returns its path.
// The first copy of a content becomes the original in uploads/; a later
// copy is a duplicate in duplicates/ whose file is a hard link to the
// original's, so the content is stored once while every record names a
// path of its own, and deleting any record's file never takes evidence
// another record needs. Deciding and placing happen under placeMu, and an
// original stays reserved in Engine.placing until its record is committed
// (flush), so concurrent imports of one content agree on one original.
// Nothing ever overwrites an existing file.
func (im *importer) place(tmp, sum string, size int64, name string) (string, error) {
	e := im.e
	key := contentKey(im.c.ID, sum)
	e.placeMu.Lock()
	defer e.placeMu.Unlock()
	orig, dup := e.placing[key]
	if !dup {
		f, err := e.ledger.FileBySHA(im.c.ID, sum)
		switch {
		case err == nil:
			orig, dup = f.Path, true
		case !errors.Is(err, store.ErrNotFound):
			return "", fmt.Errorf("dedupe lookup: %w", err)
		}
	}
	if dup {
		// An original archived meanwhile has moved: look it up again.
		relookup := func() string {
			if f, err := e.ledger.FileBySHA(im.c.ID, sum); err == nil {
				return f.Path
			}
			return ""
		}
		return im.placeDuplicate(tmp, orig, relookup, sum, size, name)
	}
	dst, err := placeNew(tmp, im.dirs.uploads, sum[:16]+"_"+safeBase(name))
	if err != nil {
		return "", fmt.Errorf("place %s: %w", name, err)
	}
	e.placing[key] = dst
	im.reserved = append(im.reserved, key)
	return dst, nil
}

// placeDuplicate gives a duplicate its own path, a hard link to the
// original's file (at orig, or where relookup finds it after a move) when
// that is in the case with the same size; otherwise it keeps this copy.
func (im *importer) placeDuplicate(tmp, orig string, relookup func() string, sum string, size int64, name string) (string, error) {
	slot, err := os.CreateTemp(im.dirs.duplicates, sum[:16]+"_*_"+safeBase(name))
	if err != nil {
		return "", fmt.Errorf("create duplicate slot: %w", err)
	}
	dst := slot.Name()
	slot.Close()
	for try := 0; try < 2; try++ {
		if try == 1 {
			orig = relookup()
		}
		if st, err := os.Stat(orig); orig == "" || err != nil || st.Size() != size || !isUnder(orig, im.dirs.root) {
			continue
		}
		// Link beside tmp, then rename over the reserved slot: dst is
		// never a half-made file.
		link := tmp + ".link"
		if err := os.Link(orig, link); err != nil {
			continue
		}
		if err := os.Rename(link, dst); err != nil {
			os.Remove(link)
			continue
		}
		os.Remove(tmp)
		return dst, nil
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(dst)
		return "", fmt.Errorf("place duplicate %s: %w", name, err)
	}
	return dst, nil
}

// placeNew moves tmp to dir/name without replacing anything there: a
// taken name gets a unique variant.
func placeNew(tmp, dir, name string) (string, error) {
	dst := filepath.Join(dir, name)
	if err := os.Link(tmp, dst); err == nil {
		os.Remove(tmp)
		return dst, nil
	}
	f, err := os.CreateTemp(dir, "*_"+name)
	if err != nil {
		return "", fmt.Errorf("create slot: %w", err)
	}
	f.Close()
	if err := os.Rename(tmp, f.Name()); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// stage puts the content of src into the case's staging folder and returns
// the staged path, its sha256 and size.
func (im *importer) stage(src string, staged bool) (string, string, int64, error) {
	if staged {
		sum, size, err := hashFile(src)
		return src, sum, size, err
	}
	in, err := os.Open(src)
	if err != nil {
		return "", "", 0, fmt.Errorf("cannot open: %w", err)
	}
	defer in.Close()
	out, err := os.CreateTemp(im.dirs.staging, "in-*.part")
	if err != nil {
		return "", "", 0, fmt.Errorf("create staging file: %w", err)
	}
	h := sha256.New()
	var r io.Reader = in
	if im.ctx != nil {
		r = ctxReader{im.ctx, in}
	}
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", "", 0, fmt.Errorf("copy: %w", err)
	}
	return out.Name(), hex.EncodeToString(h.Sum(nil)), n, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// addZip extracts an archive entry by entry into staging, refusing
// path traversal, absolute names, links, and bombs, and imports each entry.
// The whole archive is refused, as one record, when it has too many
// entries or declares more bytes than zipTotalRatio allows; budget, when
// set, is what an enclosing archive has left. Refusals inside the archive
// are recorded with origin, the imported archive's own path, since the
// extraction folder is removed afterwards. An archive that does not fit
// on the disk now stops the import (StorageError): it is not at fault.
func (im *importer) addZip(ctx context.Context, path, name string, depth int, origin string, budget *uint64) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return im.rejectFile(name, origin, path, fmt.Sprintf("unreadable ZIP archive: %s", err.Error()))
	}
	defer zr.Close()
	if n := len(zr.File); n > im.e.cfg.MaxZipEntries {
		return im.rejectFile(name, origin, path, fmt.Sprintf("ZIP has %d entries, limit %d", n, im.e.cfg.MaxZipEntries))
	}
	st, err := os.Stat(path)
	if err != nil {
		return im.reject(name, origin, fmt.Sprintf("cannot stat ZIP archive: %s", err.Error()))
	}
	var declared uint64
	for _, zf := range zr.File {
		if !zf.FileInfo().IsDir() {
			declared = satAdd(declared, zf.UncompressedSize64)
		}
	}
	allow := max(uint64(zipTotalFloor), uint64(st.Size())*zipTotalRatio)
	if budget != nil {
		allow = min(allow, *budget)
	} else {
		budget = &allow
	}
	switch {
	case declared > allow:
		return im.rejectFile(name, origin, path, fmt.Sprintf("ZIP expands to %d bytes, more than %d:1 of its %d bytes allows (%d; zip bomb)",
			declared, zipTotalRatio, st.Size(), allow))
	case declared > im.e.cfg.MaxZipBytes:
		return im.rejectFile(name, origin, path, fmt.Sprintf("ZIP expands to %d bytes, beyond the %d-byte limit", declared, im.e.cfg.MaxZipBytes))
	}
	if err := im.e.checkSpace("import "+name, im.dirs.staging, satAdd(declared, im.e.indexNeed(int64(min(declared, 1<<62))))); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(im.dirs.staging, "zip-*")
	if err != nil {
		return im.e.storageError("import "+name, im.dirs.staging, fmt.Errorf("create extraction dir: %w", err))
	}
	defer os.RemoveAll(dir)
	for i, zf := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		entryName := name + "/" + zf.Name
		if zf.FileInfo().IsDir() {
			continue
		}
		if reason := unsafeEntry(zf); reason != "" {
			if err := im.reject(entryName, origin, reason); err != nil {
				return err
			}
			continue
		}
		*budget -= min(*budget, zf.UncompressedSize64)
		dst := filepath.Join(dir, fmt.Sprintf("%06d_%s", i, safeBase(zf.Name)))
		if err := extractEntry(ctx, zf, dst); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if isNoSpace(err) {
				return im.e.storageError("import "+entryName, dir, err)
			}
			if err := im.reject(entryName, origin, err.Error()); err != nil {
				return err
			}
			continue
		}
		kind, _ := sniff(dst)
		switch kind {
		case kindEvidence:
			// Entries of an archive read from outside the case have a
			// source (re-runs skip them); extracted or uploaded ones don't.
			source := ""
			if !isUnder(path, im.dirs.root) {
				source = path + "!/" + zf.Name
			}
			if err := im.addEVTX(dst, entryName, source, true); err != nil {
				return err
			}
		case kindZip:
			if depth >= maxZipDepth {
				err = im.reject(entryName, origin, "archive nested too deeply")
			} else {
				err = im.addZip(ctx, dst, entryName, depth+1, origin, budget)
			}
			if err != nil {
				return err
			}
		default:
			if err := im.reject(entryName, origin, notEvidence(dst)); err != nil {
				return err
			}
		}
		// Done with the entry: whatever was not moved into the case goes.
		os.Remove(dst)
	}
	return nil
}

// satAdd adds without wrapping: a lying archive may declare sizes that
// overflow a sum.
func satAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// unsafeEntry returns why an archive entry must not be extracted, or "".
func unsafeEntry(zf *zip.File) string {
	n := zf.Name
	switch {
	case zf.Mode()&fs.ModeSymlink != 0:
		return "ZIP entry is a symbolic link"
	case !zf.Mode().IsRegular():
		return "ZIP entry is not a regular file"
	case strings.HasPrefix(n, "/") || strings.HasPrefix(n, "\\") || filepath.IsAbs(n) || (len(n) > 1 && n[1] == ':'):
		return "ZIP entry has an absolute path"
	}
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "ZIP entry escapes the archive (path traversal)"
		}
	}
	if zf.UncompressedSize64 > zipRatioFloor && zf.CompressedSize64 > 0 && zf.UncompressedSize64/zf.CompressedSize64 > maxZipRatio {
		return fmt.Sprintf("ZIP entry compression ratio over %d:1 (zip bomb)", maxZipRatio)
	}
	return ""
}

// extractEntry writes one entry, trusting only the bytes actually read: it
// stops past the declared size, so a lying header cannot inflate it.
func extractEntry(ctx context.Context, zf *zip.File, dst string) error {
	rc, err := zf.Open()
	if err != nil {
		return fmt.Errorf("open ZIP entry: %w", err)
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", filepath.Base(dst), err)
	}
	n, err := io.Copy(out, io.LimitReader(ctxReader{ctx, rc}, int64(zf.UncompressedSize64)+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && uint64(n) > zf.UncompressedSize64 {
		err = errors.New("ZIP entry larger than its header declares")
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("extract ZIP entry: %w", err)
	}
	return nil
}

// ctxReader ends a long copy when ctx is cancelled (shutdown), between
// reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
