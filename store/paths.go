package store

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Paths of evidence inside the data directory are stored relative to it
// (the folder holding ledger.db), so a data directory copied or moved
// elsewhere (cp -a, a bigger disk) keeps working and deleting the original
// cannot break the copy. Callers see absolute paths only: relPath on
// every write, absPath on every read. A path outside the data directory
// (none today, but an older record may name one) stays absolute.

// metaPathsKey marks a ledger whose file and move paths are relative.
var metaPathsKey = []byte("paths")

const pathsRelative = "relative"

// rootOf is the data directory: the ledger's folder. OpenLedger opens the
// database by an absolute path, so this is absolute.
func rootOf(tx *bolt.Tx) string { return filepath.Dir(tx.DB().Path()) }

// relPath is p as stored: relative to the data directory when inside it.
func relPath(tx *bolt.Tx, p string) string {
	if p == "" || !filepath.IsAbs(p) {
		return p
	}
	rel, err := filepath.Rel(rootOf(tx), p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	return filepath.ToSlash(rel)
}

// absPath is a stored path as callers see it.
func absPath(tx *bolt.Tx, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(rootOf(tx), filepath.FromSlash(p))
}

// getFile reads one file record with its path made absolute.
func getFile(tx *bolt.Tx, k []byte, f *File) error {
	if err := getJSON(tx.Bucket(bktFiles), k, f); err != nil {
		return err
	}
	f.Path = absPath(tx, f.Path)
	return nil
}

// scanFiles reads every file record under prefix, paths made absolute.
func scanFiles(tx *bolt.Tx, prefix []byte) ([]File, error) {
	out, err := scanJSON[File](tx.Bucket(bktFiles), prefix)
	for i := range out {
		out[i].Path = absPath(tx, out[i].Path)
	}
	return out, err
}

// legacyRel turns an absolute path an older ledger stored into one
// relative to the data directory. Inside the current data directory that
// is plain; a ledger copied from elsewhere before paths were relative
// names the old directory, so the part from "cases/<id>/" on (the
// engine's layout, fixed) is what still holds.
func legacyRel(root, p string, caseID uint64) string {
	if p == "" || !filepath.IsAbs(p) {
		return p
	}
	if rel, err := filepath.Rel(root, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	sep := string(filepath.Separator)
	marker := sep + "cases" + sep + strconv.FormatUint(caseID, 10) + sep
	if i := strings.LastIndex(p, marker); i >= 0 {
		return filepath.ToSlash(p[i+1:])
	}
	return p
}

// migrateRelativePaths rewrites, inside tx (the open transaction, so all
// or nothing), the absolute paths an older ledger stored in file records
// and move intents as paths relative to the data directory, once.
func migrateRelativePaths(tx *bolt.Tx) error {
	meta := tx.Bucket(bktMeta)
	if string(meta.Get(metaPathsKey)) == pathsRelative {
		return nil
	}
	root := rootOf(tx)
	type rec struct {
		k, v []byte
	}
	for _, name := range [][]byte{bktFiles, bktMoves} {
		b := tx.Bucket(name)
		var changed []rec
		err := b.ForEach(func(k, v []byte) error {
			// Decode into a map so fields this code does not know (a
			// newer writer's) survive the rewrite.
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			var caseID uint64
			if err := json.Unmarshal(m["case_id"], &caseID); err != nil {
				return err
			}
			dirty := false
			for _, field := range []string{"path", "from", "to"} {
				raw, ok := m[field]
				if !ok {
					continue
				}
				var p string
				if err := json.Unmarshal(raw, &p); err != nil {
					return err
				}
				if np := legacyRel(root, p, caseID); np != p {
					m[field], _ = json.Marshal(np)
					dirty = true
				}
			}
			if dirty {
				nv, err := json.Marshal(m)
				if err != nil {
					return err
				}
				changed = append(changed, rec{bytes.Clone(k), nv})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, r := range changed {
			if err := b.Put(r.k, r.v); err != nil {
				return err
			}
		}
	}
	return meta.Put(metaPathsKey, []byte(pathsRelative))
}
