// Package corrupt makes deterministic damaged copies of real EVTX files for
// casescope's robustness tests (issue #15): single byte flips aimed at each
// structure of the format (file header, chunk headers, record headers,
// BinXML, template definitions, substitution arrays), zeroed 8-byte ranges,
// truncations, a duplicated chunk and chunk headers claiming huge record
// numbers. It is a test helper; nothing in the product imports it.
//
// Offsets are found by walking the file the way libevtx does (file header,
// 64 KiB chunks after the header block, records "**\0\0" from 0x200), and
// the random choices come from a seeded PCG, so a variant's name
// identifies the same bytes on every run.
package corrupt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
)

const (
	chunkSize       = 0x10000
	chunkHeaderSize = 0x200
	fileHeaderSize  = 128
)

// Kinds of damage.
const (
	Flip      = "flip"      // one byte XORed with a non-zero value
	Zero      = "zero"      // 8 bytes set to zero
	Truncate  = "truncate"  // the file cut short
	DupChunk  = "dup-chunk" // a chunk overwritten with a copy of the one before
	HugeRecNo = "huge-recno"
	Set       = "set" // a byte set to a given value (a reproduced report)
)

// Variant is one damaged copy of a file.
type Variant struct {
	Name   string // "<kind> <region> @0x<offset>", unique per source file
	Kind   string // Flip, Zero, Truncate, DupChunk, HugeRecNo, Set
	Region string // the structure hit: "file header", "chunk header", …
	Offset int64  // where the damage starts (Truncate: the new size)
	// build makes the damaged bytes on demand, so a test holds one
	// variant in memory at a time (its heap is what is measured).
	build func() []byte
	// FileHeader is set when the damage touches the 128-byte file header,
	// the only damage a reader may answer with "not an EVTX file".
	FileHeader bool
	// Truncated is set when the copy ends before the last chunk the file
	// header declares, or inside a chunk.
	Truncated bool
}

// Bytes returns a fresh copy of the damaged file.
func (v Variant) Bytes() []byte { return v.build() }

// Layout is what a walk of an EVTX file finds, as byte ranges [start, end).
type Layout struct {
	HeaderBlock int64   // size of the file header block (chunk 0's offset)
	ChunkCount  int     // the file header's chunk count
	Chunks      []int64 // offsets of the chunks with a valid signature
	Regions     map[string][][2]int64
	RecordCount int   // records found by the walk
	UsedEnd     int64 // end of the last chunk with records
}

// Region names, in the order Variants uses them.
var Regions = []string{"file header", "chunk header", "record header", "binxml header", "template definition", "substitution array", "substitution values"}

// Walk finds the structures of an EVTX file. It trusts the file: use it on
// intact corpus files.
func Walk(b []byte) (Layout, error) {
	le := binary.LittleEndian
	if len(b) < 0x1000 || string(b[:8]) != "ElfFile\x00" {
		return Layout{}, fmt.Errorf("not an EVTX file")
	}
	l := Layout{
		HeaderBlock: int64(le.Uint16(b[40:])),
		ChunkCount:  int(le.Uint16(b[42:])),
		Regions:     map[string][][2]int64{},
	}
	if l.HeaderBlock == 0 {
		l.HeaderBlock = 0x1000
	}
	add := func(region string, start, end int64) {
		if end > start {
			l.Regions[region] = append(l.Regions[region], [2]int64{start, end})
		}
	}
	add("file header", 0, fileHeaderSize)
	for off := l.HeaderBlock; off+chunkSize <= int64(len(b)); off += chunkSize {
		c := b[off : off+chunkSize]
		if string(c[:8]) != "ElfChnk\x00" {
			continue
		}
		l.Chunks = append(l.Chunks, off)
		add("chunk header", off, off+chunkHeaderSize)
		free := int(le.Uint32(c[48:]))
		if free <= chunkHeaderSize || free > chunkSize {
			continue
		}
		for pos := chunkHeaderSize; pos+28 <= free; {
			if string(c[pos:pos+4]) != "**\x00\x00" {
				break
			}
			size := int(le.Uint32(c[pos+4:]))
			if size < 28 || pos+size > free || int(le.Uint32(c[pos+size-4:])) != size {
				break
			}
			l.RecordCount++
			l.UsedEnd = off + chunkSize
			abs := off + int64(pos)
			add("record header", abs, abs+24)
			walkBinXML(c, pos+24, pos+size-4, func(region string, s, e int) {
				add(region, off+int64(s), off+int64(e))
			})
			pos += size
		}
	}
	return l, nil
}

// walkBinXML reports the regions of a record's BinXML: the fragment and
// template instance header, an inline template definition, the
// substitution descriptors and the values.
func walkBinXML(c []byte, pos, end int, add func(region string, s, e int)) {
	le := binary.LittleEndian
	start := pos
	if pos+4 <= end && c[pos] == 0x0f {
		pos += 4
	}
	if pos+10 > end || c[pos] != 0x0c {
		return
	}
	defOff := int(le.Uint32(c[pos+6:]))
	pos += 10
	add("binxml header", start, pos)
	if defOff == pos && pos+24 <= end {
		body := int(le.Uint32(c[pos+20:]))
		if pos+24+body > end {
			return
		}
		add("template definition", pos, pos+24+body)
		pos += 24 + body
	}
	if pos+4 > end {
		return
	}
	n := int(le.Uint32(c[pos:]))
	if n > 1024 || pos+4+4*n > end {
		return
	}
	add("substitution array", pos, pos+4+4*n)
	vals := pos + 4 + 4*n
	size := 0
	for i := 0; i < n; i++ {
		size += int(le.Uint16(c[pos+4+4*i:]))
	}
	if vals+size <= end {
		add("substitution values", vals, vals+size)
	}
}

// Variants makes the damaged copies of one intact file: perRegion single
// byte flips in each region, perRegion zeroed 8-byte ranges inside
// records, truncations at chunk boundaries and inside chunks, a duplicated
// chunk and chunk headers with huge record numbers. seed makes the choice
// of offsets reproducible.
func Variants(b []byte, seed uint64, perRegion int) ([]Variant, error) {
	l, err := Walk(b)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x15))
	var out []Variant
	seen := map[string]bool{}
	push := func(v Variant) {
		if seen[v.Name] {
			return
		}
		seen[v.Name] = true
		out = append(out, v)
	}
	pick := func(region string) (int64, bool) {
		rs := l.Regions[region]
		if len(rs) == 0 {
			return 0, false
		}
		r := rs[rng.IntN(len(rs))]
		return r[0] + rng.Int64N(r[1]-r[0]), true
	}
	for _, region := range Regions {
		for range perRegion {
			off, ok := pick(region)
			if !ok {
				break
			}
			x := byte(1 + rng.IntN(255))
			push(Variant{Name: fmt.Sprintf("%s %s @0x%x ^0x%02x", Flip, region, off, x), Kind: Flip, Region: region, Offset: off, FileHeader: off < fileHeaderSize,
				build: func() []byte { d := bytes.Clone(b); d[off] ^= x; return d }})
		}
	}
	for _, region := range []string{"record header", "binxml header", "template definition", "substitution array", "substitution values"} {
		for range perRegion / 2 {
			off, ok := pick(region)
			if !ok {
				break
			}
			v := ZeroRange(b, off)
			v.Name, v.Region = fmt.Sprintf("%s %s @0x%x", Zero, region, off), region
			push(v)
		}
	}
	// Truncations: at chunk boundaries (after the first chunk, half way)
	// and inside chunks (inside a record of the first and the last chunk),
	// and inside the file header block.
	var cuts []int64
	if n := len(l.Chunks); n > 1 {
		cuts = append(cuts, l.Chunks[1], l.Chunks[n/2])
	}
	if n := len(l.Chunks); n > 0 {
		cuts = append(cuts, l.Chunks[0]+chunkHeaderSize+int64(rng.IntN(chunkSize-chunkHeaderSize)))
		cuts = append(cuts, l.Chunks[n-1]+chunkHeaderSize+int64(rng.IntN(chunkSize-chunkHeaderSize)))
	}
	cuts = append(cuts, 5000)
	sort.Slice(cuts, func(i, j int) bool { return cuts[i] < cuts[j] })
	for _, cut := range cuts {
		if cut >= int64(len(b)) || cut >= l.UsedEnd {
			continue
		}
		push(truncated(b, l, cut))
	}
	if len(l.Chunks) > 1 {
		c0, c1 := l.Chunks[0], l.Chunks[1]
		push(Variant{Name: fmt.Sprintf("%s chunk 0 over chunk 1 @0x%x", DupChunk, c1), Kind: DupChunk, Region: "chunk", Offset: c1,
			build: func() []byte { d := bytes.Clone(b); copy(d[c1:c1+chunkSize], b[c0:c0+chunkSize]); return d }})
	}
	if len(l.Chunks) > 0 {
		c := l.Chunks[len(l.Chunks)/2]
		for _, f := range []struct {
			name      string
			field     int64
			value     uint64
			alsoFirst bool
		}{
			{"last record number", 16, 1 << 62, false},
			{"last record number max", 16, ^uint64(0) - 1, false},
			{"first and last record number", 8, 1 << 40, true},
			{"last record id", 32, 1 << 62, false},
		} {
			push(Variant{Name: fmt.Sprintf("%s %s @0x%x", HugeRecNo, f.name, c+f.field), Kind: HugeRecNo, Region: "chunk header", Offset: c + f.field,
				build: func() []byte {
					d := bytes.Clone(b)
					binary.LittleEndian.PutUint64(d[c+f.field:], f.value)
					if f.alsoFirst {
						binary.LittleEndian.PutUint64(d[c+16:], f.value+1<<20)
					}
					return d
				}})
		}
	}
	return out, nil
}

func truncated(b []byte, l Layout, cut int64) Variant {
	return Variant{
		Name:       fmt.Sprintf("%s @%d", Truncate, cut),
		Kind:       Truncate,
		Region:     "file",
		Offset:     cut,
		FileHeader: cut < fileHeaderSize,
		// Cut before the end of the last chunk the header declares.
		Truncated: cut < l.HeaderBlock+int64(l.ChunkCount)*chunkSize,
		build:     func() []byte { return bytes.Clone(b[:cut]) },
	}
}

// Truncated is the file cut to size bytes (a reproduced report).
func Truncated(b []byte, size int64) (Variant, error) {
	l, err := Walk(b)
	if err != nil {
		return Variant{}, err
	}
	v := truncated(b, l, size)
	v.Region = "reported"
	return v, nil
}

// SetByte is the file with the byte at off set to v (a reproduced report).
func SetByte(b []byte, off int64, v byte) Variant {
	return Variant{Name: fmt.Sprintf("%s 0x%02x @0x%x", Set, v, off), Kind: Set, Region: "reported", Offset: off, FileHeader: off < fileHeaderSize,
		build: func() []byte { d := bytes.Clone(b); d[off] = v; return d }}
}

// ZeroRange is the file with 8 bytes at off zeroed (a reproduced report).
func ZeroRange(b []byte, off int64) Variant {
	return Variant{Name: fmt.Sprintf("%s reported @0x%x", Zero, off), Kind: Zero, Region: "reported", Offset: off, FileHeader: off < fileHeaderSize,
		build: func() []byte { d := bytes.Clone(b); clear(d[off:min(off+8, int64(len(d)))]); return d }}
}

// FlipByte is the file with the byte at off XORed with x (a reproduced
// report).
func FlipByte(b []byte, off int64, x byte) Variant {
	return Variant{Name: fmt.Sprintf("%s reported @0x%x ^0x%02x", Flip, off, x), Kind: Flip, Region: "reported", Offset: off, FileHeader: off < fileHeaderSize,
		build: func() []byte { d := bytes.Clone(b); d[off] ^= x; return d }}
}

// Source is a corpus file (path under the shared corpus's evtx/) and how
// to damage it.
type Source struct {
	Path      string
	Seed      uint64
	PerRegion int // random flips per region (Variants)
}

// Sources are the files the robustness tests damage.
func Sources() []Source {
	return []Source{
		// Security, EventData, 2,261 records in 26 chunks: also the
		// damages reported in issue #15 (Reported).
		{"omerbenamram/security.evtx", 1, 2},
		// Sysmon, many templates.
		{"evtx-attack-samples/Privilege Escalation/Sysmon_UACME_64.evtx", 2, 4},
		// Security with UserData (1102 LogFileCleared).
		{"evtx-attack-samples/Defense Evasion/DE_1102_security_log_cleared.evtx", 3, 4},
	}
}

// ForSource returns the variants of one source file: the reported
// damages first (for security.evtx), then Variants.
func ForSource(b []byte, s Source) ([]Variant, error) {
	vs, err := Variants(b, s.Seed, s.PerRegion)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	if s.Path != "omerbenamram/security.evtx" {
		return vs, nil
	}
	rep, err := Reported(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	// The reported damages come first; a random one with the same bytes
	// (the same name) is left out, so every variant is a distinct file.
	seen := map[string]bool{}
	for _, v := range rep {
		seen[v.Name] = true
	}
	for _, v := range vs {
		if !seen[v.Name] {
			rep = append(rep, v)
		}
	}
	return rep, nil
}

// Reported are the damages of issue #15, reproduced on security.evtx.
func Reported(b []byte) ([]Variant, error) {
	out := []Variant{
		SetByte(b, 0x42303, 0x51),   // unbounded template argument count
		ZeroRange(b, 0x172c),        // record 1's SystemTime
		FlipByte(b, 0x102abc, 0xff), // record 1420's trailing size copy
	}
	for _, size := range []int64{1_000_000, 5_000} {
		v, err := Truncated(b, size)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
