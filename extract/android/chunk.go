// Package android reads the parts of an Android app that name back ends: the
// dex string tables, binary XML (the manifest, res/xml), the resource table,
// the network security config and the signing certificate.
//
// The binary formats are read by hand, from byte slices, with every offset
// and count checked against the slice: an app is hostile input. The resource
// formats (binary XML and resources.arsc) share one chunk layout and one
// string pool format, so one small reader serves both; the library that
// does exist for them (shogo82148/androidbinary) decodes into structs through
// reflection and does not expose each configuration's entries, which is what
// extraction needs. The dex format's string table is a hundred lines with a
// documented layout, so no dex library is linked either.
package android

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrFormat means a structure's offsets or counts do not fit its data.
var ErrFormat = errors.New("malformed")

// Chunk types of the Android resource formats (ResourceTypes.h).
const (
	chunkStringPool = 0x0001
	chunkTable      = 0x0002
	chunkXML        = 0x0003
	chunkXMLStartEl = 0x0102
	chunkXMLEndEl   = 0x0103
	chunkXMLCData   = 0x0104
	chunkXMLResMap  = 0x0180
	chunkPackage    = 0x0200
	chunkType       = 0x0201
)

var le = binary.LittleEndian

// chunk is one header-prefixed block: its type, header size and whole body.
type chunk struct {
	typ    uint16
	header int
	data   []byte // the whole chunk, header included
	off    int    // offset of the chunk in the file, for sources
}

// chunks splits b into its chunks, stopping at the first that does not fit.
func chunks(b []byte, base int) ([]chunk, error) {
	var out []chunk
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return out, fmt.Errorf("chunk header at %d: %w", base+off, ErrFormat)
		}
		typ, hs, size := le.Uint16(b[off:]), int(le.Uint16(b[off+2:])), int(le.Uint32(b[off+4:]))
		if hs < 8 || size < hs || size > len(b)-off {
			return out, fmt.Errorf("chunk %#x at %d (header %d, size %d): %w", typ, base+off, hs, size, ErrFormat)
		}
		out = append(out, chunk{typ: typ, header: hs, data: b[off : off+size], off: base + off})
		off += size
	}
	return out, nil
}

// u32 reads a little-endian uint32 at i, or ok=false when it does not fit.
func u32(b []byte, i int) (uint32, bool) {
	if i < 0 || i > len(b)-4 {
		return 0, false
	}
	return le.Uint32(b[i:]), true
}

func u16(b []byte, i int) (uint16, bool) {
	if i < 0 || i > len(b)-2 {
		return 0, false
	}
	return le.Uint16(b[i:]), true
}

// StringPool is a resource string pool, decoded lazily: an arsc pool can
// hold a hundred thousand strings, most of which nobody asks for.
type StringPool struct {
	data    []byte // the chunk
	offs    []byte // the offsets array
	start   int    // where string data begins in data
	utf8    bool
	count   int
	FileOff int // the pool's offset in its file
	// budget bounds the bytes all Gets may decode: offsets may point many
	// strings at one long one, and decoding it a hundred thousand times
	// would turn a 1 MB file into gigabytes of work. A legitimate pool
	// decodes each byte about once.
	budget int
}

func parseStringPool(c chunk) (*StringPool, error) {
	d := c.data
	if c.header < 28 {
		return nil, fmt.Errorf("string pool at %d: header %d: %w", c.off, c.header, ErrFormat)
	}
	count, flags, start := int(le.Uint32(d[8:])), le.Uint32(d[16:]), int(le.Uint32(d[20:]))
	if count < 0 || count > (len(d)-c.header)/4 || start > len(d) {
		return nil, fmt.Errorf("string pool at %d: %d strings: %w", c.off, count, ErrFormat)
	}
	return &StringPool{data: d, offs: d[c.header : c.header+4*count], start: start,
		utf8: flags&(1<<8) != 0, count: count, FileOff: c.off, budget: 4*len(d) + 1<<16}, nil
}

// Len returns the number of strings; 0 for a nil pool.
func (p *StringPool) Len() int {
	if p == nil {
		return 0
	}
	return p.count
}

// UTF8 reports whether the pool stores UTF-8 (else UTF-16LE).
func (p *StringPool) UTF8() bool { return p != nil && p.utf8 }

// Get returns string i and its offset in the file; "" for an index out of
// range, a string that does not fit, or once the decoding budget is spent.
// Get is not safe for concurrent use.
func (p *StringPool) Get(i uint32) (string, int) {
	if p == nil || int64(i) >= int64(p.count) {
		return "", 0
	}
	at := p.start + int(le.Uint32(p.offs[4*i:]))
	if at < p.start || at >= len(p.data) {
		return "", 0
	}
	var str string
	if p.utf8 {
		str = p.utf8At(at)
	} else {
		str = p.utf16At(at)
	}
	if p.budget -= len(str) + 4; p.budget < 0 {
		return "", 0
	}
	return str, p.FileOff + at
}

// Peek is Get for a string of at most max bytes (UTF-8) or code units
// (UTF-16), which it measures before decoding; false for any other. It
// spends no budget and writes nothing, so it is safe beside Get and other
// Peeks: the data flow over an app's dexes resolves getString(R.string.x)
// through it on the dexes' goroutines while the table's own entry is read.
func (p *StringPool) Peek(i uint32, max int) (string, int, bool) {
	if p == nil || int64(i) >= int64(p.count) {
		return "", 0, false
	}
	at := p.start + int(le.Uint32(p.offs[4*i:]))
	if at < p.start || at >= len(p.data) {
		return "", 0, false
	}
	var n int
	if p.utf8 {
		_, x := len8(p.data, at)
		n, _ = len8(p.data, x)
	} else {
		n16, ok := u16(p.data, at)
		if !ok {
			return "", 0, false
		}
		n = int(n16) // a long form (high bit set) reads as more than max
	}
	if n > max {
		return "", 0, false
	}
	if p.utf8 {
		return p.utf8At(at), p.FileOff + at, true
	}
	return p.utf16At(at), p.FileOff + at, true
}

// utf8At reads the UTF-8 form: UTF-16 length, UTF-8 length (each one or two
// bytes), then the bytes.
func (p *StringPool) utf8At(at int) string {
	d := p.data
	_, at = len8(d, at) // the UTF-16 length is of no use here
	n, at := len8(d, at)
	if at < 0 || n > len(d)-at {
		return ""
	}
	s := d[at : at+n]
	if !utf8.Valid(s) {
		return string([]rune(string(s))) // replaces bad bytes rather than failing the pool
	}
	return string(s)
}

func len8(d []byte, at int) (int, int) {
	if at < 0 || at >= len(d) {
		return 0, -1
	}
	n := int(d[at])
	if n&0x80 == 0 {
		return n, at + 1
	}
	if at+1 >= len(d) {
		return 0, -1
	}
	return (n&0x7f)<<8 | int(d[at+1]), at + 2
}

// utf16At reads the UTF-16 form: a length in code units (one or two u16),
// then the units.
func (p *StringPool) utf16At(at int) string {
	d := p.data
	n16, ok := u16(d, at)
	if !ok {
		return ""
	}
	n, at := int(n16), at+2
	if n&0x8000 != 0 {
		lo, ok := u16(d, at)
		if !ok {
			return ""
		}
		n, at = (n&0x7fff)<<16|int(lo), at+2
	}
	if n > (len(d)-at)/2 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(n)
	for i := 0; i < n; i++ {
		r := rune(le.Uint16(d[at+2*i:]))
		if utf16.IsSurrogate(r) {
			r2 := utf8.RuneError
			if i+1 < n {
				r2 = rune(le.Uint16(d[at+2*i+2:]))
			}
			if r = utf16.DecodeRune(r, r2); r != utf8.RuneError {
				i++
			}
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
