package android

import (
	"bytes"
	"fmt"
	"io"
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
	return dexStrings(&dexWindow{buf: b, size: len(b), whole: true}, yield)
}

// DexStringsFrom is DexStrings over a dex file of size bytes read front to
// back from r (an entry as it inflates), holding only a window of it: the
// header and string ids, then the bytes of one string item at a time, as
// the items come in table order in every dex a compiler writes. The
// strings are the same, in the same order, with the same errors as
// DexStrings on the whole file gives. A file whose items are out of table
// order is read whole into memory first. Strings are views valid during
// the call of yield. When r ends before size bytes, the strings read so far
// have been yielded and the error wraps r's (io.ErrUnexpectedEOF for a
// short stream).
func DexStringsFrom(r io.Reader, size int, yield func(off int, s []byte) bool) error {
	return dexStrings(&dexWindow{r: r, size: size, buf: make([]byte, 0, min(size, dexWindowRead))}, yield)
}

// DexStringsAsWritten is DexStrings over a file that another goroutine is
// still writing into b, front to back (an entry being inflated): before it
// reads b[:end] it calls ready(end), which blocks until those bytes are in
// and returns false if they never will be (the write failed), which stops
// the reading with an error. The string data sits in the last third of a
// dex, so much of it is scanned while the rest inflates.
func DexStringsAsWritten(b []byte, ready func(end int) bool, yield func(off int, s []byte) bool) error {
	return dexStrings(&dexWindow{buf: b, size: len(b), whole: true, ready: ready}, yield)
}

// DexCount returns the number of strings in a dex file's string table,
// checked against the file's size.
func DexCount(b []byte) (int, error) { return dexCount(b, len(b)) }

// dexCount is DexCount for a file of size bytes whose first bytes are head.
func dexCount(head []byte, size int) (int, error) {
	if len(head) < dexHeaderSize || size < dexHeaderSize || !bytes.HasPrefix(head, []byte("dex\n")) {
		return 0, fmt.Errorf("dex: no dex header: %w", ErrFormat)
	}
	count, idsOff := int64(le.Uint32(head[56:])), int64(le.Uint32(head[60:]))
	if count == 0 {
		return 0, nil
	}
	if idsOff < dexHeaderSize || idsOff > int64(size) || count > (int64(size)-idsOff)/4 {
		return 0, fmt.Errorf("dex: %d string ids at %d do not fit %d bytes: %w", count, idsOff, size, ErrFormat)
	}
	return int(count), nil
}

// dexWindowRead is how much a streamed dex window asks its reader for at a
// time.
const dexWindowRead = 64 << 10

// dexWindow holds the part of a dex file a reader still needs: file bytes
// base to base+len(buf). A whole file (DexStrings) is one window that never
// moves; a streamed one (DexStringsFrom) reads on as more is needed and
// forgets what lies before keep.
type dexWindow struct {
	r     io.Reader
	size  int    // the file's length
	buf   []byte // file bytes from base
	base  int
	keep  int  // bytes before it are not needed again
	whole bool // buf is the whole file, not to be moved or written
	// ready, for a whole file still being written, waits until its bytes
	// up to end are in (DexStringsAsWritten)
	ready func(end int) bool
	err   error // why r stopped before size bytes
	idle  int   // reads in a row that gave nothing
}

// need makes the window hold the file's bytes up to end (at most size) and
// reports whether it does; false means the stream ended first.
func (w *dexWindow) need(end int) bool {
	end = min(end, w.size)
	if w.ready != nil {
		return w.ready(end)
	}
	for w.base+len(w.buf) < end {
		if w.whole || w.err != nil {
			return false
		}
		w.forget()
		if want := end - w.base; cap(w.buf) < want || cap(w.buf)-len(w.buf) < min(dexWindowRead, want-len(w.buf)) {
			// Room for the bytes wanted and a read's worth past them,
			// within the file.
			grown := make([]byte, len(w.buf), min(w.size-w.base, max(want, len(w.buf))+dexWindowRead))
			copy(grown, w.buf)
			w.buf = grown
		}
		top := min(cap(w.buf), w.size-w.base)
		n, err := w.r.Read(w.buf[len(w.buf):top])
		w.buf = w.buf[:len(w.buf)+n]
		if n == 0 && err == nil {
			if w.idle++; w.idle > 100 {
				err = io.ErrNoProgress
			}
		} else {
			w.idle = 0
		}
		if err != nil && w.base+len(w.buf) < w.size {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			w.err = err
		}
	}
	return true
}

// forget drops the bytes before keep, moving what is left to the front.
func (w *dexWindow) forget() {
	if w.whole || w.keep <= w.base {
		return
	}
	k := min(w.keep-w.base, len(w.buf))
	w.buf = w.buf[:copy(w.buf, w.buf[k:])]
	w.base += k
}

// fail words a stop of the stream before end.
func (w *dexWindow) fail(what string) error {
	if w.err != nil {
		return fmt.Errorf("dex: %s: %w", what, w.err)
	}
	return fmt.Errorf("dex: %s: %w", what, ErrFormat)
}

// dexStrings reads the string table through w.
func dexStrings(w *dexWindow, yield func(off int, s []byte) bool) error {
	if !w.need(dexHeaderSize) {
		return w.fail("header never read")
	}
	count, err := dexCount(w.buf[:min(len(w.buf), dexHeaderSize)], w.size)
	if err != nil || count == 0 {
		return err
	}
	idsOff := int(le.Uint32(w.buf[60:]))
	if !w.need(idsOff + 4*count) {
		return w.fail("string ids never read")
	}
	idsEnd := idsOff + 4*count
	ids := w.buf[idsOff:idsEnd]
	if !w.whole {
		if !inOrder(ids) || int(le.Uint32(ids)) < idsEnd {
			// Items out of table order, or inside the ids: read it all.
			if !w.need(w.size) {
				return w.fail("dex read short")
			}
			w.whole = true
			ids = w.buf[idsOff:idsEnd]
		} else {
			// The ids stay where they were read; the window goes on in
			// a buffer of its own.
			rest := w.buf[idsEnd:]
			w.buf = append(make([]byte, 0, max(len(rest), min(w.size-idsEnd, dexWindowRead))), rest...)
			w.base = idsEnd
		}
	}
	bad := 0
	var scratch []byte // holds the UTF-8 of a string that is not UTF-8 already
	// Overlapping string items could make a small file decode gigabytes;
	// a real table decodes each byte once, so twice the file is plenty.
	budget := 2*w.size + 1<<16
	for i := range count {
		at := int(le.Uint32(ids[4*i:]))
		if at >= dexHeaderSize && at < w.size {
			w.keep = at // the items are in order: none later starts before
			if !w.need(at+5) || !w.need(at+dexStringSpan(w, at)) {
				return w.fail(fmt.Sprintf("string %d never read", i))
			}
		}
		s, start, cost, ok := dexString(w, at, &scratch)
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

// inOrder reports whether string ids point at ascending offsets.
func inOrder(ids []byte) bool {
	last := uint32(0)
	for i := 0; i+4 <= len(ids); i += 4 {
		at := le.Uint32(ids[i:])
		if at < last {
			return false
		}
		last = at
	}
	return true
}

// dexStringSpan bounds the bytes the string item at at may span, its first
// five bytes in the window: its ULEB128 length (up to 5 bytes) and up to
// three bytes per UTF-16 unit, plus the NUL.
func dexStringSpan(w *dexWindow, at int) int {
	n, start, ok := uleb128(w, at)
	if !ok {
		return 5
	}
	return start - at + min(3*n+1, w.size)
}

// dexString reads the string_data_item at at: its text, where the bytes
// start, and how many bytes were looked at. The window holds the item's
// span (dexStringSpan) or the file's end.
func dexString(w *dexWindow, at int, scratch *[]byte) ([]byte, int, int, bool) {
	if at < dexHeaderSize || at >= w.size {
		return nil, 0, 0, false
	}
	n, start, ok := uleb128(w, at)
	if !ok {
		return nil, 0, 0, false
	}
	// n UTF-16 units take n to 3n bytes: look for the NUL no further, so a
	// string without one costs its declared length, not the rest of the file.
	b := w.buf[start-w.base : min(len(w.buf), start-w.base+3*n+1)]
	end := bytes.IndexByte(b, 0)
	if end < 0 || end < n {
		return nil, 0, len(b), false
	}
	raw := b[:end:end]
	// MUTF-8 differs from UTF-8 only in NUL (C0 80) and in characters past
	// U+FFFF (surrogate pairs), neither of which is valid UTF-8: a string
	// that is valid UTF-8 (nearly all, and every ASCII one) is used as is.
	if !utf8.Valid(raw) {
		*scratch = appendMUTF8((*scratch)[:0], raw)
		return *scratch, start, end, true
	}
	return raw, start, end, true
}

// uleb128 reads an unsigned LEB128 of at most five bytes (a u32) at file
// offset at of the window.
func uleb128(w *dexWindow, at int) (int, int, bool) {
	var v uint32
	for i := range 5 {
		if at+i >= w.base+len(w.buf) || at+i >= w.size {
			return 0, 0, false
		}
		c := w.buf[at+i-w.base]
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return int(v), at + i + 1, true
		}
	}
	return 0, 0, false
}

// mutf8 decodes modified UTF-8 to a string; see appendMUTF8.
func mutf8(b []byte) string {
	for _, c := range b {
		if c >= 0x80 {
			return string(appendMUTF8(make([]byte, 0, len(b)), b))
		}
	}
	return string(b) // ASCII reads the same in MUTF-8 and UTF-8
}

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
