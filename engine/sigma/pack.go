package sigma

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"
)

// Rule packs. The embedded rules come in three of SigmaHQ's packs, told
// by their folder: windows/ and web/ are SigmaHQ's generic rules
// (rules/), emerging-threats/ its rules-emerging-threats/ (rules for
// specific campaigns, malware and exploits, by year) and threat-hunting/
// its rules-threat-hunting/ (broad rules meant for hunting: noisy by
// design). Rules from any other source (a --rules folder) are the custom
// pack.
const (
	PackCore            = "core"
	PackEmergingThreats = "emerging-threats"
	PackThreatHunting   = "threat-hunting"
	PackCustom          = "custom"
)

// PackInfo describes one rule pack.
type PackInfo struct {
	Name string `json:"name"`
	// Folder is the pack's SigmaHQ folder ("" for custom).
	Folder string `json:"folder,omitempty"`
	// Default reports whether a case runs the pack unless told otherwise.
	Default bool `json:"default"`
	// Optional is false for a pack every case runs (custom).
	Optional bool `json:"optional"`
}

// packTable is the packs in bit order (PackSet bit i is entry i).
func packTable() [4]PackInfo {
	return [4]PackInfo{
		{Name: PackCore, Folder: "rules", Default: true, Optional: true},
		{Name: PackEmergingThreats, Folder: "rules-emerging-threats", Default: true, Optional: true},
		{Name: PackThreatHunting, Folder: "rules-threat-hunting", Default: false, Optional: true},
		{Name: PackCustom, Default: true, Optional: false},
	}
}

// Packs returns the rule packs, in a fixed order.
func Packs() []PackInfo {
	t := packTable()
	return t[:]
}

// PackSet is a set of rule packs, a bit per pack. The zero value holds
// no pack.
type PackSet uint8

// AllPacks holds every pack.
const AllPacks PackSet = 1<<4 - 1

// DefaultPacks is the packs a case runs unless it chose others: every
// pack but threat-hunting.
func DefaultPacks() PackSet {
	var s PackSet
	for i, p := range packTable() {
		if p.Default {
			s |= 1 << i
		}
	}
	return s
}

func packBit(name string) (PackSet, bool) {
	for i, p := range packTable() {
		if p.Name == name {
			return 1 << i, true
		}
	}
	return 0, false
}

// PackSetOf returns the set of the named packs plus the packs that are
// not optional (custom). nil names give DefaultPacks; an unknown name is
// an error.
func PackSetOf(names []string) (PackSet, error) {
	if names == nil {
		return DefaultPacks(), nil
	}
	var s PackSet
	for i, p := range packTable() {
		if !p.Optional {
			s |= 1 << i
		}
	}
	for _, n := range names {
		b, ok := packBit(strings.ToLower(strings.TrimSpace(n)))
		if !ok {
			return 0, fmt.Errorf("unknown rule pack %q (packs: %s)", n, strings.Join(PackNames(AllPacks), ", "))
		}
		s |= b
	}
	return s, nil
}

// Has reports whether the set holds the named pack.
func (s PackSet) Has(name string) bool {
	b, ok := packBit(name)
	return ok && s&b != 0
}

// PackNames lists the set's packs in order.
func PackNames(s PackSet) []string {
	out := []string{}
	for i, p := range packTable() {
		if s&(1<<i) != 0 {
			out = append(out, p.Name)
		}
	}
	return out
}

// embeddedFS marks the embedded rules, whose packs Load tells by folder.
type embeddedFS struct{ fs.FS }

// packOf names the pack of the rule file at path p of source fsys.
func packOf(fsys fs.FS, p string) string {
	if _, ok := fsys.(embeddedFS); !ok {
		return PackCustom
	}
	first, _, _ := strings.Cut(p, "/")
	switch first {
	case PackEmergingThreats, PackThreatHunting:
		return first
	}
	return PackCore
}

// EmbeddedFiles returns the embedded rule files at the given paths (as
// Embedded names them) as a source Load tells the packs of, like
// Embedded: tests load a few rules instead of all.
func EmbeddedFiles(paths ...string) (fs.FS, error) {
	m := fstest.MapFS{}
	for _, p := range paths {
		b, err := fs.ReadFile(rulesFS, path.Join("rules", p))
		if err != nil {
			return nil, fmt.Errorf("embedded rule %s: %w", p, err)
		}
		m[p] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	return embeddedFS{m}, nil
}
