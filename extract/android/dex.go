package android

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Dex string table layout (source.android.com/docs/core/runtime/dex-format):
// header field string_ids_size at 56 and string_ids_off at 60; each
// string_id_item is a u32 offset of a string_data_item, which is a ULEB128
// length in UTF-16 units followed by MUTF-8 bytes and a NUL.

// dexHeaderSize is the fixed size of a dex header.
const dexHeaderSize = 0x70

// DexStrings calls yield with every string of a dex file's string table,
// as UTF-8, and the file offset of its bytes, in table order; yield returns
// false to stop. A string that is valid UTF-8 (nearly all) is a view into b,
// valid during the call, so a table of a hundred thousand strings is read
// without copying any. Counts and offsets are checked against the file
// before use, so a header claiming four billion strings costs nothing.
func DexStrings(b []byte, yield func(off int, s []byte) bool) error {
	n, err := DexCount(b)
	if err != nil || n == 0 {
		return err
	}
	return dexStrings(b, 0, n, nil, yield)
}

// DexCount returns the number of strings in a dex file's string table,
// checked against the file's size.
func DexCount(b []byte) (int, error) {
	if len(b) < dexHeaderSize || !bytes.HasPrefix(b, []byte("dex\n")) {
		return 0, fmt.Errorf("dex: no dex header: %w", ErrFormat)
	}
	count, idsOff := int64(le.Uint32(b[56:])), int64(le.Uint32(b[60:]))
	if count == 0 {
		return 0, nil
	}
	if idsOff < dexHeaderSize || idsOff > int64(len(b)) || count > (int64(len(b))-idsOff)/4 {
		return 0, fmt.Errorf("dex: %d string ids at %d do not fit %d bytes: %w", count, idsOff, len(b), ErrFormat)
	}
	return int(count), nil
}

// DexStringsIn is DexStrings for the strings lo ≤ i < hi of the table, so
// that parts of one big table can be read side by side. lo and hi are
// clamped to the table.
func DexStringsIn(b []byte, lo, hi int, yield func(off int, s []byte) bool) error {
	count, err := DexCount(b)
	if err != nil {
		return err
	}
	return dexStrings(b, max(lo, 0), min(hi, count), nil, yield)
}

// DexStringsAsWritten is DexStrings over a file that another goroutine is
// still writing into b, front to back (an entry being inflated): before it
// reads b[:end] it calls ready(end), which blocks until those bytes are in
// and returns false if they never will be (the write failed), which stops
// the reading with an error. The string data sits in the second half of a
// dex file, so most of it is scanned while the rest inflates.
func DexStringsAsWritten(b []byte, ready func(end int) bool, yield func(off int, s []byte) bool) error {
	if !ready(min(dexHeaderSize, len(b))) {
		return fmt.Errorf("dex: header never written: %w", ErrFormat)
	}
	count, err := DexCount(b)
	if err != nil || count == 0 {
		return err
	}
	return dexStrings(b, 0, count, ready, yield)
}

// dexStrings reads strings lo to hi of a table DexCount has checked.
func dexStrings(b []byte, lo, hi int, ready func(end int) bool, yield func(off int, s []byte) bool) error {
	idsOff := int(le.Uint32(b[60:]))
	if ready != nil && !ready(idsOff+4*hi) {
		return fmt.Errorf("dex: string ids never written: %w", ErrFormat)
	}
	bad := 0
	var scratch []byte // holds the UTF-8 of a string that is not UTF-8 already
	// Overlapping string items could make a small file decode gigabytes;
	// a real table decodes each byte once, so twice the file is plenty.
	budget := 2*len(b) + 1<<16
	for i := lo; i < hi; i++ {
		at := int(le.Uint32(b[idsOff+4*i:]))
		if ready != nil && !ready(min(at+dexStringMax(b, at, ready), len(b))) {
			return fmt.Errorf("dex: string %d never written: %w", i, ErrFormat)
		}
		s, start, cost, ok := dexString(b, at, &scratch)
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
		return fmt.Errorf("dex: %d strings out of range (among strings %d to %d): %w", bad, lo, hi, ErrFormat)
	}
	return nil
}

// dexStringMax bounds the bytes the string item at at may span: its
// ULEB128 length (up to 5 bytes, waited for first) and up to three bytes
// per UTF-16 unit, plus the NUL.
func dexStringMax(b []byte, at int, ready func(end int) bool) int {
	if at < 0 || at >= len(b) || !ready(min(at+5, len(b))) {
		return 0
	}
	n, start, ok := uleb128(b, at)
	if !ok {
		return 5
	}
	return start - at + min(3*n+1, len(b))
}

// dexString reads the string_data_item at at: its text, where the bytes
// start, and how many bytes were looked at.
func dexString(b []byte, at int, scratch *[]byte) ([]byte, int, int, bool) {
	if at < dexHeaderSize || at >= len(b) {
		return nil, 0, 0, false
	}
	n, start, ok := uleb128(b, at)
	if !ok {
		return nil, 0, 0, false
	}
	// n UTF-16 units take n to 3n bytes: look for the NUL no further, so a
	// string without one costs its declared length, not the rest of the file.
	window := b[start:min(len(b), start+3*n+1)]
	end := bytes.IndexByte(window, 0)
	if end < 0 || end < n {
		return nil, 0, len(window), false
	}
	raw := b[start : start+end : start+end]
	// MUTF-8 differs from UTF-8 only in NUL (C0 80) and in characters past
	// U+FFFF (surrogate pairs), neither of which is valid UTF-8: a string
	// that is valid UTF-8 (nearly all, and every ASCII one) is used as is.
	if !utf8.Valid(raw) {
		*scratch = appendMUTF8((*scratch)[:0], raw)
		return *scratch, start, end, true
	}
	return raw, start, end, true
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

// mutf8 decodes modified UTF-8 to a string; see appendMUTF8.
func mutf8(b []byte) string { return string(appendMUTF8(nil, b)) }

// appendMUTF8 decodes modified UTF-8 (UTF-8 whose code points above U+FFFF
// are written as two three-byte surrogates and whose NUL is C0 80) and
// appends it to dst as UTF-8. Bad bytes and lone surrogates become U+FFFD.
func appendMUTF8(dst, b []byte) []byte {
	unit := func(i int) (rune, int) { // one UTF-16 unit and its length in bytes
		c := b[i]
		switch {
		case c < 0x80:
			return rune(c), 1
		case c&0xe0 == 0xc0 && i+1 < len(b):
			return rune(c&0x1f)<<6 | rune(b[i+1]&0x3f), 2
		case c&0xf0 == 0xe0 && i+2 < len(b):
			return rune(c&0x0f)<<12 | rune(b[i+1]&0x3f)<<6 | rune(b[i+2]&0x3f), 3
		}
		return utf8.RuneError, 1
	}
	for i := 0; i < len(b); {
		r, n := unit(i)
		i += n
		if utf16.IsSurrogate(r) {
			if r < 0xdc00 && i < len(b) {
				if r2, n2 := unit(i); r2 >= 0xdc00 && r2 <= 0xdfff {
					r, i = utf16.DecodeRune(r, r2), i+n2
				}
			}
			if utf16.IsSurrogate(r) { // no partner
				r = utf8.RuneError
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}
