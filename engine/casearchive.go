package engine

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"casescope/engine/sigma"
	"casescope/store"
)

// A case archive is a tar stream (casescope case export): the case's
// evidence as original bytes, its ledger records as JSON lines, its audit
// entries, the Sigma rule set's identity, and last a manifest with the
// SHA-256 and size of every member, then the manifest's own SHA-256. The
// index is not carried: import re-indexes from the evidence (tags and
// detections re-applied by event ID), which the rule-set identity lets the
// importer compare. Import stages and verifies everything before it
// records anything.

// ArchiveFormat is the archive layout version written in the manifest.
const ArchiveFormat = 1

// Archive member names.
const (
	memberCase       = "case.json"
	memberFiles      = "ledger/files.jsonl"
	memberIOCs       = "ledger/iocs.jsonl"
	memberTags       = "ledger/tags.jsonl"
	memberHits       = "ledger/hits.jsonl"
	memberAudit      = "ledger/audit.jsonl"
	memberRules      = "rules.json"
	memberManifest   = "manifest.json"
	memberManifestOK = "manifest.json.sha256"
)

// memberSuppress holds the false-positive suppressions; archives made
// before suppressions existed lack it.
const memberSuppress = "ledger/suppressions.jsonl"

// memberComments holds the comment threads on events; archives made
// before comment threads lack it (their tags' notes become comments on
// import).
const memberComments = "ledger/comments.jsonl"

// memberName is every name an archive may hold; anything else is refused,
// and no member name is ever used as a path on disk.
var memberName = regexp.MustCompile(`^(case\.json|rules\.json|ledger/(files|iocs|tags|hits|audit|suppressions|comments)\.jsonl|evidence/([0-9a-f]{64}|file-[0-9]{1,20})|provenance/[A-Za-z0-9][A-Za-z0-9._-]{0,100})$`)

// ErrArchive reports an archive refused on import: damaged, incomplete,
// altered, or not a casescope case archive.
var ErrArchive = errors.New("invalid case archive")

// ArchiveMember is one member's entry in the manifest.
type ArchiveMember struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// RuleSetIdentity names the Sigma rules that produced a case's hits: the
// hash of the embedded pack and of the custom rules directory, and the
// options they were loaded with.
type RuleSetIdentity struct {
	EmbeddedSHA256 string   `json:"embedded_sha256,omitempty"`
	CustomSHA256   string   `json:"custom_sha256,omitempty"`
	CustomDir      string   `json:"custom_dir,omitempty"`
	MinLevel       string   `json:"min_level,omitempty"`
	Statuses       []string `json:"statuses,omitempty"`
	Loaded         int      `json:"loaded"`
}

// Same reports whether two identities name the same rules.
func (r RuleSetIdentity) Same(o RuleSetIdentity) bool {
	return r.EmbeddedSHA256 == o.EmbeddedSHA256 && r.CustomSHA256 == o.CustomSHA256 &&
		r.MinLevel == o.MinLevel && strings.Join(r.Statuses, ",") == strings.Join(o.Statuses, ",") && r.Loaded == o.Loaded
}

// ArchiveManifest is the archive's chain-of-custody record.
type ArchiveManifest struct {
	Format     int             `json:"format"`
	Version    string          `json:"casescope_version"`
	ExportedBy string          `json:"exported_by"`
	ExportedAt time.Time       `json:"exported_at"`
	Case       store.Case      `json:"case"`
	Rules      RuleSetIdentity `json:"rules"`
	Files      int             `json:"files"`
	Events     int64           `json:"events"`
	Members    []ArchiveMember `json:"members"`
}

// archivedFile is one line of ledger/files.jsonl: the record, where its
// file lies inside the case folder, and the member holding its bytes.
type archivedFile struct {
	File   store.File `json:"file"`
	Rel    string     `json:"rel,omitempty"`
	Member string     `json:"member,omitempty"`
}

// ArchiveProgress is called as an export or import moves bytes: done of
// total (total is 0 while unknown).
type ArchiveProgress func(done, total int64)

// ExportOptions say who exports and how progress is reported.
type ExportOptions struct {
	User     string
	Version  string
	Progress ArchiveProgress
}

// RuleIdentity hashes the installed rule set's sources.
func (e *Engine) RuleIdentity() (RuleSetIdentity, error) {
	e.jobs.mu.Lock()
	opts := e.ruleOpts
	e.jobs.mu.Unlock()
	id := RuleSetIdentity{MinLevel: opts.MinLevel, Statuses: opts.Statuses, CustomDir: opts.Dir}
	if rs := e.det.Rules(); rs != nil {
		id.Loaded = rs.Len()
	}
	if id.Loaded == 0 {
		return id, nil
	}
	var err error
	if !opts.NoBuiltin {
		if id.EmbeddedSHA256, err = hashTree(sigma.Embedded()); err != nil {
			return id, fmt.Errorf("hash embedded rules: %w", err)
		}
	}
	if opts.Dir != "" {
		if id.CustomSHA256, err = hashTree(os.DirFS(opts.Dir)); err != nil {
			return id, fmt.Errorf("hash rules dir: %w", err)
		}
	}
	return id, nil
}

// hashTree hashes every regular file's path and content, in path order.
func hashTree(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\x00", p)
		_, err = io.Copy(h, f)
		return err
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// ExportCase writes the case archive to w, streaming: memory stays flat
// whatever the case's size (ledger lists are spooled to temporary files
// in the data directory, evidence is copied through). A case with work
// pending is refused (ErrBusy): its records would not match its files.
func (e *Engine) ExportCase(ctx context.Context, caseID uint64, w io.Writer, opts ExportOptions) (ArchiveManifest, error) {
	c, err := e.ledger.Case(caseID)
	if err != nil {
		return ArchiveManifest{}, err
	}
	files, err := e.ledger.Files(caseID)
	if err != nil {
		return ArchiveManifest{}, err
	}
	for _, f := range files {
		if store.Pending(f.State) {
			return ArchiveManifest{}, fmt.Errorf("case %s has files still %s; export it once they are done: %w", c.Name, f.State, ErrBusy)
		}
	}
	rules, err := e.RuleIdentity()
	if err != nil {
		return ArchiveManifest{}, err
	}
	m := ArchiveManifest{Format: ArchiveFormat, Version: opts.Version, ExportedBy: opts.User, ExportedAt: time.Now().UTC(), Case: c, Rules: rules}
	root := e.caseDirs(caseID).root
	tw := tar.NewWriter(w)
	if err := os.MkdirAll(e.transferDir(), 0o750); err != nil {
		return m, fmt.Errorf("create transfer dir: %w", err)
	}
	x := &exporter{ctx: ctx, tw: tw, m: &m, progress: opts.Progress, tmpDir: e.transferDir()}

	// The evidence: one member per distinct content (duplicates are hard
	// links of one file), named by its recorded sha256.
	var lines []archivedFile
	byContent := map[string]string{}
	counted := map[string]bool{}
	for _, f := range files {
		if f.SHA256 == "" || !counted[f.SHA256] {
			counted[f.SHA256] = f.SHA256 != ""
			x.total += f.Size
		}
	}
	for _, f := range files {
		m.Files++
		m.Events += f.Events
		af := archivedFile{File: f}
		af.File.Path = ""
		if f.Path != "" {
			if rel, err := filepath.Rel(root, f.Path); err == nil && isUnder(f.Path, root) {
				af.Rel = filepath.ToSlash(rel)
			}
		}
		if af.Rel != "" {
			if _, err := os.Stat(f.Path); err == nil {
				name := "evidence/file-" + strconv.FormatUint(f.ID, 10)
				if f.SHA256 != "" {
					name = "evidence/" + f.SHA256
				}
				if byContent[name] == "" {
					if err := x.addFile(name, f.Path, f.SHA256); err != nil {
						return m, err
					}
					byContent[name] = f.Path
				}
				af.Member = name
			} else if !errors.Is(err, fs.ErrNotExist) {
				return m, fmt.Errorf("stat %s: %w", f.Path, err)
			}
		}
		lines = append(lines, af)
	}
	if err := x.addJSON(memberCase, c); err != nil {
		return m, err
	}
	if err := x.addJSON(memberRules, rules); err != nil {
		return m, err
	}
	if err := x.addLines(memberFiles, func(emit func(v any) error) error {
		for _, l := range lines {
			if err := emit(l); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return m, err
	}
	iocs, err := e.ledger.IOCs(caseID)
	if err != nil {
		return m, err
	}
	if err := x.addLines(memberIOCs, func(emit func(v any) error) error {
		for _, i := range iocs {
			if err := emit(i); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return m, err
	}
	sups, err := e.ledger.Suppressions(caseID)
	if err != nil {
		return m, err
	}
	if err := x.addLines(memberSuppress, func(emit func(v any) error) error {
		for _, sp := range sups {
			if err := emit(sp); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return m, err
	}
	if err := x.addLines(memberTags, func(emit func(v any) error) error {
		return e.ledger.Tags(caseID, 0, func(t *store.Tag) error { return emit(t) })
	}); err != nil {
		return m, err
	}
	if err := x.addLines(memberComments, func(emit func(v any) error) error {
		return e.ledger.CaseComments(caseID, func(c *store.Comment) error { return emit(c) })
	}); err != nil {
		return m, err
	}
	if err := x.addLines(memberHits, func(emit func(v any) error) error {
		return e.ledger.Hits(caseID, 0, func(h *store.EventHits) error { return emit(h) })
	}); err != nil {
		return m, err
	}
	if err := x.addLines(memberAudit, func(emit func(v any) error) error {
		return e.ledger.CaseAudit(c, func(a store.AuditEntry) error { return emit(a) })
	}); err != nil {
		return m, err
	}
	// Provenance of earlier imports travels on: chain of custody.
	prov := filepath.Join(root, "provenance")
	if entries, err := os.ReadDir(prov); err == nil {
		for _, de := range entries {
			name := "provenance/" + de.Name()
			if de.Type().IsRegular() && memberName.MatchString(name) {
				if err := x.addFile(name, filepath.Join(prov, de.Name()), ""); err != nil {
					return m, err
				}
			}
		}
	}
	raw, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return m, err
	}
	sum := sha256.Sum256(raw)
	if err := x.addBytes(memberManifest, raw); err != nil {
		return m, err
	}
	if err := x.addBytes(memberManifestOK, []byte(hex.EncodeToString(sum[:])+"\n")); err != nil {
		return m, err
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("finish archive: %w", err)
	}
	return m, nil
}

// exporter writes members and records them in the manifest.
type exporter struct {
	ctx         context.Context
	tw          *tar.Writer
	m           *ArchiveManifest
	progress    ArchiveProgress
	done, total int64
	tmpDir      string
}

func (x *exporter) header(name string, size int64) error {
	if err := x.ctx.Err(); err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: x.m.ExportedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := x.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write archive member %s: %w", name, err)
	}
	return nil
}

// addFile copies a file in, hashing it; want (when not empty) is the
// sha256 the ledger recorded, which the bytes must still have.
func (x *exporter) addFile(name, p, want string) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	if err := x.header(name, st.Size()); err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(x.tw, h, progressWriter{x}), ctxReader{ctx: x.ctx, r: io.LimitReader(f, st.Size())})
	if err != nil {
		return fmt.Errorf("archive %s: %w", p, err)
	}
	if n != st.Size() {
		return fmt.Errorf("archive %s: file shrank while read", p)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return fmt.Errorf("%s: content changed since import (sha256 %s, recorded %s); run doctor", p, sum[:16], want[:min(16, len(want))])
	}
	x.m.Members = append(x.m.Members, ArchiveMember{Name: name, Size: n, SHA256: sum})
	return nil
}

func (x *exporter) addBytes(name string, b []byte) error {
	if err := x.header(name, int64(len(b))); err != nil {
		return err
	}
	if _, err := x.tw.Write(b); err != nil {
		return fmt.Errorf("write archive member %s: %w", name, err)
	}
	sum := sha256.Sum256(b)
	if name != memberManifest && name != memberManifestOK {
		x.m.Members = append(x.m.Members, ArchiveMember{Name: name, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
	}
	return nil
}

func (x *exporter) addJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return x.addBytes(name, append(b, '\n'))
}

// addLines spools JSON lines to a temporary file (a tar header needs the
// size first) and copies it in.
func (x *exporter) addLines(name string, gen func(emit func(v any) error) error) error {
	tmp, err := os.CreateTemp(x.tmpDir, ".export-*.jsonl")
	if err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	bw := bufio.NewWriter(tmp)
	enc := json.NewEncoder(bw)
	if err := gen(func(v any) error { return enc.Encode(v) }); err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	return x.addFile(name, tmp.Name(), "")
}

type progressWriter struct{ x *exporter }

func (p progressWriter) Write(b []byte) (int, error) {
	x := p.x
	before := x.done
	x.done += int64(len(b))
	// Reported per MiB crossed, so a caller's print stays cheap.
	if x.progress != nil && x.done>>20 != before>>20 {
		x.progress(x.done, max(x.total, x.done))
	}
	return len(b), nil
}

// transferDir holds an import's staged members and an export's spooled
// record lists, inside the data directory (same filesystem: the verified
// case folder is renamed out of it).
func (e *Engine) transferDir() string { return filepath.Join(e.cfg.DataDir, "transfer") }

// clearTransfers removes what an export or import interrupted by a crash
// left in the transfer folder; at Start nothing can be using it (the
// ledger admits one process).
func (e *Engine) clearTransfers() error {
	if err := os.RemoveAll(e.transferDir()); err != nil {
		return fmt.Errorf("clear transfer dir: %w", err)
	}
	return nil
}

// ImportOptions name the imported case and report progress.
type ImportOptions struct {
	// As names the case; empty keeps the archive's name.
	As string
	// Size is the archive's size in bytes for progress (0 = unknown).
	Size     int64
	Progress ArchiveProgress
}

// CaseImport is what ImportCase did.
type CaseImport struct {
	Case     store.Case      `json:"case"`
	Manifest ArchiveManifest `json:"manifest"`
	Files    int             `json:"files"`
	// Reindexing counts files queued to rebuild the index from their
	// evidence; their Sigma and IOC hits are recomputed then.
	Reindexing int `json:"reindexing"`
	// RulesDiffer warns that the rule set here is not the exporter's, so
	// re-indexing may find other Sigma hits than the archive recorded.
	RulesDiffer bool `json:"rules_differ"`
}

// staged is one verified member on disk.
type staged struct {
	path string
	size int64
	sum  string
}

// ImportCase reads a case archive from r into a new case. Every member is
// staged in the data directory's transfer folder and hashed; only when the manifest's
// hash, every member's hash and size, and the member list all agree is
// anything recorded, in one ledger transaction that also moves the
// verified case folder into place. A damaged or incomplete archive is
// refused with ErrArchive and leaves nothing behind; a taken name is
// store.ErrExists (choose another with ImportOptions.As).
func (e *Engine) ImportCase(ctx context.Context, r io.Reader, opts ImportOptions) (CaseImport, error) {
	var res CaseImport
	base := e.transferDir()
	if err := os.MkdirAll(base, 0o750); err != nil {
		return res, fmt.Errorf("create transfer dir: %w", err)
	}
	stage, err := os.MkdirTemp(base, "import-*")
	if err != nil {
		return res, fmt.Errorf("create import staging: %w", err)
	}
	defer os.RemoveAll(stage)
	if opts.As != "" {
		if _, err := e.checkFreeName(opts.As); err != nil {
			return res, err
		}
	}
	members, err := e.stageArchive(ctx, r, stage, opts)
	if err != nil {
		return res, err
	}
	m, err := verifyArchive(members)
	if err != nil {
		return res, err
	}
	res.Manifest = m
	var c store.Case
	if err := readJSONFile(members[memberCase].path, &c); err != nil {
		return res, fmt.Errorf("%s: %w: %w", memberCase, ErrArchive, err)
	}
	name := c.Name
	if opts.As != "" {
		name = opts.As
	}
	if name, err = e.checkFreeName(name); err != nil {
		return res, err
	}
	var lines []archivedFile
	if err := readLines(members[memberFiles].path, func(dec *json.Decoder) error {
		var af archivedFile
		if err := dec.Decode(&af); err != nil {
			return err
		}
		lines = append(lines, af)
		return nil
	}); err != nil {
		return res, fmt.Errorf("%s: %w: %w", memberFiles, ErrArchive, err)
	}
	// Build the case folder in staging: every record's file at its place,
	// a content shared by several records hard-linked (as dedupe does).
	caseDir := filepath.Join(stage, "case")
	placed := map[string]string{}
	for i := range lines {
		af := &lines[i]
		if af.Member == "" {
			continue
		}
		mem, ok := members[af.Member]
		if !ok {
			return res, fmt.Errorf("file %d names member %s, which the archive lacks: %w", af.File.ID, af.Member, ErrArchive)
		}
		if af.File.SHA256 != "" && mem.sum != af.File.SHA256 {
			return res, fmt.Errorf("file %d: member %s holds sha256 %s, record says %s: %w", af.File.ID, af.Member, mem.sum, af.File.SHA256, ErrArchive)
		}
		rel, ok := safeCaseRel(af.Rel)
		if !ok {
			return res, fmt.Errorf("file %d: path %q is not inside a case folder: %w", af.File.ID, af.Rel, ErrArchive)
		}
		dst := filepath.Join(caseDir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return res, fmt.Errorf("stage case folder: %w", err)
		}
		if prev, ok := placed[af.Member]; ok {
			if err := os.Link(prev, dst); err != nil {
				if err := copyFile(prev, dst); err != nil {
					return res, fmt.Errorf("stage %s: %w", rel, err)
				}
			}
			continue
		}
		if err := os.Rename(mem.path, dst); err != nil {
			return res, fmt.Errorf("stage %s: %w", rel, err)
		}
		placed[af.Member] = dst
	}
	// Chain of custody: this archive's manifest and audit entries, and
	// any earlier provenance, stay with the case.
	prov := filepath.Join(caseDir, "provenance")
	if err := os.MkdirAll(prov, 0o750); err != nil {
		return res, fmt.Errorf("stage provenance: %w", err)
	}
	stamp := m.ExportedAt.UTC().Format("20060102T150405Z")
	for name, mem := range members {
		var dst string
		switch {
		case strings.HasPrefix(name, "provenance/"):
			dst = filepath.Join(prov, strings.TrimPrefix(name, "provenance/"))
		case name == memberManifest:
			dst = filepath.Join(prov, "manifest-"+stamp+".json")
		case name == memberAudit:
			dst = filepath.Join(prov, "audit-"+stamp+".jsonl")
		default:
			continue
		}
		if err := os.Rename(mem.path, dst); err != nil {
			return res, fmt.Errorf("stage provenance: %w", err)
		}
		members[name] = staged{path: dst, size: mem.size, sum: mem.sum}
	}
	var iocs []store.IOC
	if err := readLines(members[memberIOCs].path, func(dec *json.Decoder) error {
		var i store.IOC
		if err := dec.Decode(&i); err != nil {
			return err
		}
		iocs = append(iocs, i)
		return nil
	}); err != nil {
		return res, fmt.Errorf("%s: %w: %w", memberIOCs, ErrArchive, err)
	}
	var sups []store.Suppression
	if mem, ok := members[memberSuppress]; ok {
		if err := readLines(mem.path, func(dec *json.Decoder) error {
			var sp store.Suppression
			if err := dec.Decode(&sp); err != nil {
				return err
			}
			sups = append(sups, sp)
			return nil
		}); err != nil {
			return res, fmt.Errorf("%s: %w: %w", memberSuppress, ErrArchive, err)
		}
	}
	if cur, err := e.RuleIdentity(); err == nil {
		res.RulesDiffer = !cur.Same(m.Rules)
	}

	var target string
	moved := false
	nc, err := e.ledger.ImportCase(name, c.Description, c.Created, func(w *store.CaseWriter) error {
		target = e.caseDirs(w.CaseID()).root
		if err := w.SetRulePacks(c.RulePacks); err != nil {
			return err
		}
		for _, af := range lines {
			f := af.File
			f.Path = ""
			if af.Rel != "" {
				rel, _ := safeCaseRel(af.Rel)
				f.Path = filepath.Join(target, rel)
			}
			if f.State == store.StateCompleted && f.Events > 0 {
				// The index is rebuilt from the evidence.
				f.State, f.Attempts = store.StateQueued, 0
				res.Reindexing++
			}
			if err := w.PutFile(f); err != nil {
				return err
			}
			res.Files++
		}
		for _, i := range iocs {
			if err := w.PutIOC(i); err != nil {
				return err
			}
		}
		for _, sp := range sups {
			if err := w.PutSuppression(sp); err != nil {
				return err
			}
		}
		if err := readLines(members[memberTags].path, func(dec *json.Decoder) error {
			var t store.Tag
			if err := dec.Decode(&t); err != nil {
				return err
			}
			return w.PutTag(t)
		}); err != nil {
			return fmt.Errorf("%s: %w", memberTags, err)
		}
		if mem, ok := members[memberComments]; ok {
			if err := readLines(mem.path, func(dec *json.Decoder) error {
				var c store.Comment
				if err := dec.Decode(&c); err != nil {
					return err
				}
				return w.PutComment(c)
			}); err != nil {
				return fmt.Errorf("%s: %w", memberComments, err)
			}
		}
		if err := readLines(members[memberHits].path, func(dec *json.Decoder) error {
			var h store.EventHits
			if err := dec.Decode(&h); err != nil {
				return err
			}
			return w.PutHit(h)
		}); err != nil {
			return fmt.Errorf("%s: %w", memberHits, err)
		}
		// A folder under this never-committed ID is a leftover of a
		// crash mid-import; the verified folder replaces it in one rename.
		if err := os.RemoveAll(target); err != nil {
			return fmt.Errorf("clear case folder: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return fmt.Errorf("create cases dir: %w", err)
		}
		if err := os.Rename(caseDir, target); err != nil {
			return fmt.Errorf("move case folder into place: %w", err)
		}
		moved = true
		return nil
	})
	if err != nil {
		if moved {
			os.RemoveAll(target)
		}
		return res, fmt.Errorf("import case %s: %w", name, err)
	}
	res.Case = nc
	if err := e.det.SetIOCs(nc.ID, storeIOCsOf(iocs, nc.ID)); err != nil {
		return res, err
	}
	e.log.Info("case imported", "case_id", nc.ID, "files", res.Files, "reindexing", res.Reindexing, "rules_differ", res.RulesDiffer)
	e.wake()
	return res, nil
}

func storeIOCsOf(in []store.IOC, caseID uint64) []store.IOC {
	out := make([]store.IOC, len(in))
	for i, x := range in {
		x.CaseID = caseID
		out[i] = x
	}
	return out
}

// checkFreeName validates a case name and refuses one in use, saying how
// to import under another.
func (e *Engine) checkFreeName(name string) (string, error) {
	name, err := store.CheckCaseName(name)
	if err != nil {
		return "", err
	}
	cases, err := e.ledger.Cases()
	if err != nil {
		return "", err
	}
	for _, c := range cases {
		if strings.EqualFold(c.Name, name) {
			return "", fmt.Errorf("a case named %q already exists; import it under another name (--as NAME): %w", c.Name, store.ErrExists)
		}
	}
	return name, nil
}

// safeCaseRel checks a record's place inside a case folder: relative,
// clean, under one of the folders the engine writes evidence to.
func safeCaseRel(rel string) (string, bool) {
	if rel == "" || strings.Contains(rel, "\\") || path.IsAbs(rel) || path.Clean(rel) != rel {
		return "", false
	}
	first, rest, ok := strings.Cut(rel, "/")
	if !ok || rest == "" || strings.HasPrefix(rest, "../") || rest == ".." {
		return "", false
	}
	switch first {
	case "uploads", "archive", "duplicates", "rejected", "archives", "adopted":
	default:
		return "", false
	}
	for _, part := range strings.Split(rel, "/") {
		if part == ".." || part == "." {
			return "", false
		}
	}
	return filepath.FromSlash(rel), true
}

// stageArchive reads the tar stream into stage, hashing each member. It
// refuses unknown, repeated or non-regular members.
func (e *Engine) stageArchive(ctx context.Context, r io.Reader, stage string, opts ImportOptions) (map[string]staged, error) {
	blobs := filepath.Join(stage, "members")
	if err := os.MkdirAll(blobs, 0o750); err != nil {
		return nil, fmt.Errorf("create import staging: %w", err)
	}
	cr := &countingReader{r: ctxReader{ctx: ctx, r: r}, progress: opts.Progress, total: opts.Size}
	tr := tar.NewReader(cr)
	out := map[string]staged{}
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("read archive: %w: %w", ErrArchive, err)
		}
		if hdr.Typeflag != tar.TypeReg || !memberName.MatchString(hdr.Name) && hdr.Name != memberManifest && hdr.Name != memberManifestOK {
			return nil, fmt.Errorf("unexpected archive member %q: %w", hdr.Name, ErrArchive)
		}
		if _, dup := out[hdr.Name]; dup {
			return nil, fmt.Errorf("archive member %q twice: %w", hdr.Name, ErrArchive)
		}
		if hdr.Size < 0 {
			return nil, fmt.Errorf("archive member %q: negative size: %w", hdr.Name, ErrArchive)
		}
		if err := e.checkSpace("import case archive", stage, uint64(hdr.Size)); err != nil {
			return nil, err
		}
		p := filepath.Join(blobs, strconv.Itoa(n))
		sum, size, err := writeHashed(p, tr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if isNoSpace(err) {
				return nil, e.storageError("import case archive", stage, err)
			}
			return nil, fmt.Errorf("read archive member %s: %w: %w", hdr.Name, ErrArchive, err)
		}
		out[hdr.Name] = staged{path: p, size: size, sum: sum}
	}
	return out, nil
}

// verifyArchive checks the staged members against the manifest: its own
// hash, then every member's size and sha256, and that the archive holds
// exactly the members listed.
func verifyArchive(members map[string]staged) (ArchiveManifest, error) {
	var m ArchiveManifest
	mf, ok := members[memberManifest]
	ok2 := false
	var okMem staged
	if ok {
		okMem, ok2 = members[memberManifestOK]
	}
	if !ok || !ok2 {
		return m, fmt.Errorf("no manifest (truncated, or not a casescope case archive): %w", ErrArchive)
	}
	want, err := os.ReadFile(okMem.path)
	if err != nil {
		return m, fmt.Errorf("read manifest hash: %w", err)
	}
	if strings.TrimSpace(string(want)) != mf.sum {
		return m, fmt.Errorf("manifest sha256 %s, recorded %s: %w", mf.sum, strings.TrimSpace(string(want)), ErrArchive)
	}
	if err := readJSONFile(mf.path, &m); err != nil {
		return m, fmt.Errorf("manifest: %w: %w", ErrArchive, err)
	}
	if m.Format != ArchiveFormat {
		return m, fmt.Errorf("archive format %d, this casescope reads %d: %w", m.Format, ArchiveFormat, ErrArchive)
	}
	listed := map[string]bool{}
	for _, mm := range m.Members {
		got, ok := members[mm.Name]
		if !ok {
			return m, fmt.Errorf("member %s listed in the manifest is missing: %w", mm.Name, ErrArchive)
		}
		if got.size != mm.Size || got.sum != mm.SHA256 {
			return m, fmt.Errorf("member %s: sha256 %s (%d bytes), manifest says %s (%d bytes): %w", mm.Name, got.sum, got.size, mm.SHA256, mm.Size, ErrArchive)
		}
		if strings.HasPrefix(mm.Name, "evidence/") && !strings.HasPrefix(mm.Name, "evidence/file-") && mm.Name != "evidence/"+got.sum {
			return m, fmt.Errorf("member %s holds other content (sha256 %s): %w", mm.Name, got.sum, ErrArchive)
		}
		listed[mm.Name] = true
	}
	for name := range members {
		if !listed[name] && name != memberManifest && name != memberManifestOK {
			return m, fmt.Errorf("member %s is not in the manifest: %w", name, ErrArchive)
		}
	}
	for _, need := range []string{memberCase, memberFiles, memberIOCs, memberTags, memberHits, memberAudit} {
		if !listed[need] {
			return m, fmt.Errorf("member %s missing: %w", need, ErrArchive)
		}
	}
	return m, nil
}

func writeHashed(p string, r io.Reader) (string, int64, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func readJSONFile(p string, v any) error {
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// readLines decodes a JSON-lines file value by value.
func readLines(p string, each func(dec *json.Decoder) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	for dec.More() {
		if err := each(dec); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// countingReader reports bytes read from an archive stream.
type countingReader struct {
	r        io.Reader
	n, total int64
	progress ArchiveProgress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	before := c.n
	c.n += int64(n)
	if c.progress != nil && c.n>>20 != before>>20 {
		c.progress(c.n, c.total)
	}
	return n, err
}

// DeleteCase removes a case: its records from the ledger (one
// transaction), its index (closed first) and its whole folder on disk
// (evidence, archive, duplicates, staging, provenance). A case with work
// pending is refused (ErrBusy).
func (e *Engine) DeleteCase(ctx context.Context, caseID uint64) (store.Case, error) {
	files, err := e.ledger.Files(caseID)
	if err != nil {
		return store.Case{}, err
	}
	if _, err := e.ledger.Case(caseID); err != nil {
		return store.Case{}, err
	}
	for _, f := range files {
		if store.Pending(f.State) {
			return store.Case{}, fmt.Errorf("file %s is %s: %w", f.Name, f.State, ErrBusy)
		}
	}
	for _, j := range e.Jobs() {
		if j.CaseID == caseID && j.State == "running" {
			return store.Case{}, fmt.Errorf("a %s job runs on the case: %w", j.Kind, ErrBusy)
		}
	}
	// A cluster case's events go first (this data directory's only):
	// with the cluster unreachable the case stays, whole.
	if x, err := e.Index(caseID); err != nil {
		return store.Case{}, err
	} else if cl, ok := x.(*store.Cluster); ok {
		if err := cl.DeleteOrigin(ctx); err != nil {
			return store.Case{}, err
		}
	}
	c, err := e.ledger.DeleteCase(caseID)
	if err != nil {
		return store.Case{}, err
	}
	e.idxMu.Lock()
	x := e.indexes[caseID]
	delete(e.indexes, caseID)
	e.idxMu.Unlock()
	if x != nil {
		if err := x.Close(); err != nil {
			e.log.Warn("close deleted case's index", "case_id", caseID, "err", err)
		}
	}
	_ = e.det.SetIOCs(caseID, nil)
	if err := os.RemoveAll(e.caseDirs(caseID).root); err != nil {
		return c, fmt.Errorf("remove case folder: %w", err)
	}
	e.log.Info("case deleted", "case_id", caseID)
	return c, nil
}
