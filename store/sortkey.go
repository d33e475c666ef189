package store

import (
	"encoding/binary"
	"time"
)

// FieldSortKey holds one term per event whose byte order is the result
// order: the event time, then the file ID, then the record ID (see
// SortKey). Sorting on this one doc-value column replaces sorting on the
// time, the record ID and the document ID, which cost a column of sixteen
// prefix-coded terms per event and a stored-field read per match.
const FieldSortKey = "k"

// keyAlphabet encodes six bits per character in ascending byte order, so
// the encoded keys compare like the bytes they encode.
const keyAlphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"

// keyLen is the length of a sort key: 24 bytes, six bits per character.
const keyLen = 32

var keyIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(keyAlphabet); i++ {
		t[keyAlphabet[i]] = int8(i)
	}
	return t
}()

// ticksEpoch is the Unix epoch in FILETIME seconds (since 1601-01-01).
const ticksEpoch = 11644473600

// fileTicks turns t into 100 ns ticks since 1601 (the EVTX resolution),
// clamped at 0, so every time an EVTX can carry has a key.
func fileTicks(t time.Time) uint64 {
	s := t.Unix() + ticksEpoch
	if s < 0 {
		return 0
	}
	return uint64(s)*1e7 + uint64(t.Nanosecond()/100)
}

func ticksTime(ticks uint64) time.Time {
	return time.Unix(int64(ticks/1e7)-ticksEpoch, int64(ticks%1e7)*100).UTC()
}

// SortKey is the FieldSortKey term of an event.
func SortKey(t time.Time, fileID, record uint64) string {
	var raw [24]byte
	binary.BigEndian.PutUint64(raw[0:], fileTicks(t))
	binary.BigEndian.PutUint64(raw[8:], fileID)
	binary.BigEndian.PutUint64(raw[16:], record)
	var out [keyLen]byte
	for i, o := 0, 0; i < len(raw); i, o = i+3, o+4 {
		v := uint32(raw[i])<<16 | uint32(raw[i+1])<<8 | uint32(raw[i+2])
		out[o] = keyAlphabet[v>>18&63]
		out[o+1] = keyAlphabet[v>>12&63]
		out[o+2] = keyAlphabet[v>>6&63]
		out[o+3] = keyAlphabet[v&63]
	}
	return string(out[:])
}

// keyTicks decodes the time part of a sort key (its first 64 bits).
func keyTicks(k []byte) (uint64, bool) {
	if len(k) != keyLen {
		return 0, false
	}
	var v uint64
	// The time is the first 64 bits: ten characters (60 bits) and the top
	// four bits of the eleventh.
	for i := 0; i < 11; i++ {
		c := keyIndex[k[i]]
		if c < 0 {
			return 0, false
		}
		if i < 10 {
			v = v<<6 | uint64(c)
		} else {
			v = v<<4 | uint64(c)>>2
		}
	}
	return v, true
}

// KeyTime returns the event time in a sort key (a search cursor's or a
// hit's); ok is false when k is not a sort key.
func KeyTime(k string) (time.Time, bool) {
	t, ok := keyTicks([]byte(k))
	if !ok {
		return time.Time{}, false
	}
	return ticksTime(t), true
}
