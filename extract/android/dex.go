package android

import (
	"bytes"
	"fmt"
	"unicode/utf16"
)

// Dex string table layout (source.android.com/docs/core/runtime/dex-format):
// header field string_ids_size at 56 and string_ids_off at 60; each
// string_id_item is a u32 offset of a string_data_item, which is a ULEB128
// length in UTF-16 units followed by MUTF-8 bytes and a NUL.

// dexHeaderSize is the fixed size of a dex header.
const dexHeaderSize = 0x70

// DexStrings calls yield with every string of a dex file's string table and
// the file offset of its bytes, in table order; yield returns false to stop.
// Counts and offsets are checked against the file before use, so a header
// claiming four billion strings costs nothing.
func DexStrings(b []byte, yield func(off int, s string) bool) error {
	if len(b) < dexHeaderSize || !bytes.HasPrefix(b, []byte("dex\n")) {
		return fmt.Errorf("dex: no dex header: %w", ErrFormat)
	}
	count, idsOff := int64(le.Uint32(b[56:])), int64(le.Uint32(b[60:]))
	if count == 0 {
		return nil
	}
	if idsOff < dexHeaderSize || idsOff > int64(len(b)) || count > (int64(len(b))-idsOff)/4 {
		return fmt.Errorf("dex: %d string ids at %d do not fit %d bytes: %w", count, idsOff, len(b), ErrFormat)
	}
	bad := 0
	// Overlapping string items could make a small file decode gigabytes;
	// a real table decodes each byte once, so twice the file is plenty.
	budget := 2*len(b) + 1<<16
	for i := range count {
		at := int(le.Uint32(b[idsOff+4*i:]))
		s, start, cost, ok := dexString(b, at)
		if budget -= cost + 1; budget < 0 {
			return fmt.Errorf("dex: string items overlap past twice the file size: %w", ErrFormat)
		}
		if !ok {
			bad++ // one bad string does not lose the table
			continue
		}
		if !yield(start, s) {
			return nil
		}
	}
	if bad > 0 {
		return fmt.Errorf("dex: %d of %d strings out of range: %w", bad, count, ErrFormat)
	}
	return nil
}

// dexString reads the string_data_item at at: its text, where the bytes
// start, and how many bytes were looked at.
func dexString(b []byte, at int) (string, int, int, bool) {
	if at < dexHeaderSize || at >= len(b) {
		return "", 0, 0, false
	}
	n, start, ok := uleb128(b, at)
	if !ok {
		return "", 0, 0, false
	}
	// n UTF-16 units take n to 3n bytes: look for the NUL no further, so a
	// string without one costs its declared length, not the rest of the file.
	window := b[start:min(len(b), start+3*n+1)]
	end := bytes.IndexByte(window, 0)
	if end < 0 || end < n {
		return "", 0, len(window), false
	}
	raw := b[start : start+end]
	for _, c := range raw {
		if c >= 0x80 {
			return mutf8(raw), start, end, true
		}
	}
	return string(raw), start, end, true // the common case: plain ASCII
}

// uleb128 reads an unsigned LEB128 of at most five bytes (a u32).
func uleb128(b []byte, at int) (int, int, bool) {
	var v uint32
	for i := range 5 {
		if at+i >= len(b) {
			return 0, 0, false
		}
		c := b[at+i]
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return int(v), at + i + 1, true
		}
	}
	return 0, 0, false
}

// mutf8 decodes modified UTF-8: UTF-8 whose code points above U+FFFF are
// written as two three-byte surrogates and whose NUL is C0 80. It decodes to
// UTF-16 units first, then pairs surrogates; bad bytes become U+FFFD.
func mutf8(b []byte) string {
	u := make([]uint16, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			u = append(u, uint16(c))
			i++
		case c&0xe0 == 0xc0 && i+1 < len(b):
			u = append(u, uint16(c&0x1f)<<6|uint16(b[i+1]&0x3f))
			i += 2
		case c&0xf0 == 0xe0 && i+2 < len(b):
			u = append(u, uint16(c&0x0f)<<12|uint16(b[i+1]&0x3f)<<6|uint16(b[i+2]&0x3f))
			i += 3
		default:
			u = append(u, 0xfffd)
			i++
		}
	}
	return string(utf16.Decode(u))
}
