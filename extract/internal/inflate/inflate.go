// Package inflate decodes a raw DEFLATE stream (RFC 1951) straight into a
// buffer of the stream's known decoded size, as a zip entry's header gives
// it.
//
// Written here rather than taken from a library because none decodes this
// way: compress/flate and github.com/klauspost/compress/flate keep a
// 32 KiB history window of their own, take their input a byte at a time
// and copy their output out of the window. An entry read whole needs none
// of that: its own buffer is the history, matches copy inside it, and the
// input is refilled eight bytes at a time into a 64-bit bit buffer. An
// entry too big to hold whole is decoded a window at a time (Slide). On the
// dexes of the real APKs this is about twice compress/flate's speed
// (BenchmarkInflateRealDex, BENCHMARKS.md), and inflating is most of the
// time extraction takes. FuzzInflate checks every input against
// compress/flate.
//
// Decoding is bounded by its input and its buffer: a stream that would
// write past the buffer is an error (ErrLong), every block header and every
// symbol takes input bits, and input is read 32 KiB at a time into a buffer
// the Decoder keeps, so a hostile stream costs time in proportion to its
// size and the buffer's, and no memory beyond the Decoder's own.
package inflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
)

var (
	// ErrCorrupt is a stream that breaks the format.
	ErrCorrupt = errors.New("inflate: corrupt input")
	// ErrShort is a stream that ends before the buffer is full; it is an
	// io.ErrUnexpectedEOF too.
	ErrShort error = shortError{}
	// ErrLong is a stream that holds more than the buffer.
	ErrLong = errors.New("inflate: stream holds more bytes than the buffer")
)

// shortError is ErrShort: a type, not fmt.Errorf, so that gown's start
// formats nothing for it.
type shortError struct{}

func (shortError) Error() string {
	return "inflate: stream ends before the buffer is full: " + io.ErrUnexpectedEOF.Error()
}
func (shortError) Unwrap() error { return io.ErrUnexpectedEOF }

// inputSize is how much input a Decoder buffers.
const inputSize = 32 << 10

// maxMatch is the longest copy one symbol makes.
const maxMatch = 258

// Decoder decodes one stream into one buffer. Fill writes the buffer up
// to a limit, pausing there (a match cut by the limit resumes on the next
// call), and End checks that the stream ends with the buffer.
type Decoder struct {
	r   io.Reader
	in  []byte // input buffered; in[p:] is unread
	p   int
	eof bool // r has ended
	off int64
	// zero bytes fed to the bit buffer past the end of the input: the
	// last symbol may be shorter than a refill
	over int

	bits uint64 // input bits, least significant first
	nb   uint   // how many of them are valid (bits above may hold the next bytes)

	out []byte
	pos int // out[:pos] is written

	final      bool // the current block is the last
	inBlock    bool
	stored     int // bytes left of a stored block
	huffman    bool
	lit, dist  *table
	copyLen    int // a match cut by the limit: bytes left to copy
	copyDist   int
	done       bool // the final block has ended
	err        error
	dynLit     table
	dynDist    table
	codeLength table
}

// NewDecoder returns a decoder of the stream r into out.
func NewDecoder(r io.Reader, out []byte) *Decoder {
	d := &Decoder{}
	d.Reset(r, out)
	return d
}

// Reset makes d decode a new stream r into out, keeping its buffers.
func (d *Decoder) Reset(r io.Reader, out []byte) {
	in := d.in
	if in == nil {
		in = make([]byte, 0, inputSize)
	}
	lit, dist, cl := d.dynLit.e, d.dynDist.e, d.codeLength.e
	*d = Decoder{r: r, out: out, in: in[:0]}
	d.dynLit.e, d.dynDist.e, d.codeLength.e = lit[:0], dist[:0], cl[:0]
}

// Move makes d go on decoding into out, which must begin with what d has
// written so far (the history its matches copy from): a caller can decode
// a first few bytes into a small buffer, look at them, and only then take
// a buffer for the whole.
func (d *Decoder) Move(out []byte) {
	if len(out) < d.pos {
		panic("inflate: Move to a buffer shorter than what is written")
	}
	d.out = out
}

// Window is the history a stream may refer back to: Slide keeps at least
// this much.
const Window = 32 << 10

// Slide drops all but the last Window bytes written, moving those to the
// front of the buffer, where decoding goes on after them, and returns how
// many bytes it dropped: a stream longer than the buffer is decoded a
// buffer at a time, each refilled from the front. A caller that slides
// must give End a buffer cut to the stream's last bytes (Move).
func (d *Decoder) Slide() int {
	if d.pos <= Window {
		return 0
	}
	drop := d.pos - Window
	copy(d.out, d.out[drop:d.pos])
	d.pos = Window
	return drop
}

// Written returns how much of the buffer is written.
func (d *Decoder) Written() int { return d.pos }

// Fill decodes until out[:limit] is written. It returns ErrShort if the
// stream ends first, ErrCorrupt (wrapped) for a broken stream, and the
// reader's error, or io.ErrUnexpectedEOF, if the input ends first.
func (d *Decoder) Fill(limit int) error {
	limit = min(limit, len(d.out))
	for d.err == nil && d.pos < limit {
		d.err = d.step(limit, false)
	}
	return d.err
}

// End checks, once the buffer is full, that the stream ends there: ErrLong
// if it holds more.
func (d *Decoder) End() error {
	if err := d.Fill(len(d.out)); err != nil {
		return err
	}
	for d.err == nil && !d.done {
		d.err = d.step(len(d.out), true)
	}
	return d.err
}

// Into decodes the whole stream r into out, which it must fill exactly.
func Into(r io.Reader, out []byte) error {
	return NewDecoder(r, out).End()
}

// step makes progress: a block header, a piece of a stored block, or a run
// of symbols. With atEnd, any output is ErrLong.
func (d *Decoder) step(limit int, atEnd bool) error {
	if d.copyLen > 0 {
		if atEnd {
			return ErrLong
		}
		d.copyLen = d.match(d.copyLen, d.copyDist, limit)
		return nil
	}
	if !d.inBlock {
		if d.final {
			if atEnd {
				d.done = true
				return nil
			}
			return ErrShort
		}
		return d.header()
	}
	if !d.huffman {
		return d.storedBytes(limit, atEnd)
	}
	if !atEnd && d.pos+maxMatch+8 <= limit {
		if err := d.fast(limit); err != nil || !d.inBlock {
			return err
		}
	}
	return d.slow(limit, atEnd)
}

// corrupt is ErrCorrupt with where in the input it was found.
func (d *Decoder) corrupt(what string) error {
	return fmt.Errorf("%w: %s before input byte %d", ErrCorrupt, what, d.off+int64(d.p))
}

// more reads input, keeping the unread bytes. It reports whether any came.
func (d *Decoder) more() (bool, error) {
	if d.eof {
		return false, nil
	}
	n := copy(d.in[:cap(d.in)], d.in[d.p:])
	d.off += int64(d.p)
	d.in, d.p = d.in[:n], 0
	for tries := 0; tries < 100; tries++ {
		m, err := d.r.Read(d.in[n:cap(d.in)])
		d.in = d.in[:n+m]
		if err == io.EOF {
			d.eof = true
			return m > 0, nil
		}
		if err != nil {
			return m > 0, err
		}
		if m > 0 {
			return true, nil
		}
	}
	return false, io.ErrNoProgress
}

// need makes the bit buffer hold at least n ≤ 56 bits, reading input as
// it must. Past the end of the input it feeds zero bytes, at most eight:
// a stream's last symbol may end before a full refill, and a symbol that
// really needs the missing bits fails later as ErrCorrupt or ErrShort.
func (d *Decoder) need(n uint) error {
	for d.nb < n {
		if d.p == len(d.in) {
			got, err := d.more()
			if err != nil {
				return err
			}
			if !got {
				if d.over++; d.over > 8 {
					return io.ErrUnexpectedEOF
				}
				d.bits &= 1<<d.nb - 1
				d.nb += 8
				continue
			}
		}
		d.bits = d.bits&(1<<d.nb-1) | uint64(d.in[d.p])<<d.nb
		d.p++
		d.nb += 8
	}
	return nil
}

// overran reports whether bits past the end of the input were taken: the
// stream is cut short.
func (d *Decoder) overran() bool { return d.over > 0 && d.nb < 8*uint(d.over) }

// take removes and returns n bits, which must be in the buffer.
func (d *Decoder) take(n uint) uint64 {
	v := d.bits & (1<<n - 1)
	d.bits >>= n
	d.nb -= n
	return v
}

// header reads a block header and, for a dynamic block, its code tables.
func (d *Decoder) header() error {
	if err := d.need(3); err != nil {
		return err
	}
	d.final = d.take(1) == 1
	typ := d.take(2)
	if d.overran() {
		return io.ErrUnexpectedEOF
	}
	switch typ {
	case 0:
		d.take(d.nb & 7) // to a byte boundary
		if err := d.need(32); err != nil {
			return err
		}
		n, nn := d.take(16), d.take(16)
		if d.overran() {
			return io.ErrUnexpectedEOF
		}
		if n != ^nn&0xffff {
			return d.corrupt("stored block length")
		}
		d.stored, d.huffman = int(n), false
	case 1:
		d.lit, d.dist = fixedTables()
		d.huffman = true
	case 2:
		if err := d.dynamic(); err != nil {
			return err
		}
		d.lit, d.dist = &d.dynLit, &d.dynDist
		d.huffman = true
	default:
		return d.corrupt("block type 3")
	}
	if d.overran() {
		return io.ErrUnexpectedEOF
	}
	d.inBlock = true
	return nil
}

// codeOrder is the order code length code lengths come in.
var codeOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// dynamic reads a dynamic block's code tables.
func (d *Decoder) dynamic() error {
	if err := d.need(14); err != nil {
		return err
	}
	nlit := int(d.take(5)) + 257
	ndist := int(d.take(5)) + 1
	nclen := int(d.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return d.corrupt("code counts")
	}
	var clens [19]uint8
	for i := range nclen {
		if err := d.need(3); err != nil {
			return err
		}
		clens[codeOrder[i]] = uint8(d.take(3))
	}
	if !d.codeLength.build(clens[:], 7, leafCodeLength) {
		return d.corrupt("code length code")
	}
	var lens [286 + 30]uint8
	for i, n := 0, nlit+ndist; i < n; {
		sym, err := d.symbolSlow(&d.codeLength)
		if err != nil {
			return err
		}
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var v uint8
		switch sym {
		case 16:
			if i == 0 {
				return d.corrupt("repeat with nothing before")
			}
			if err := d.need(2); err != nil {
				return err
			}
			rep, v = 3+int(d.take(2)), lens[i-1]
		case 17:
			if err := d.need(3); err != nil {
				return err
			}
			rep = 3 + int(d.take(3))
		default: // 18
			if err := d.need(7); err != nil {
				return err
			}
			rep = 11 + int(d.take(7))
		}
		if i+rep > n {
			return d.corrupt("repeat past the code lengths")
		}
		for range rep {
			lens[i] = v
			i++
		}
	}
	if !d.dynLit.build(lens[:nlit], 10, leafLit) || !d.dynDist.build(lens[nlit:nlit+ndist], 8, leafDist) {
		return d.corrupt("code lengths")
	}
	return nil
}

// symbolSlow decodes one symbol of t bit by bit, for the code length code.
func (d *Decoder) symbolSlow(t *table) (int, error) {
	e, err := d.entry(t)
	if err != nil {
		return 0, err
	}
	d.take(uint(e & lenMask))
	return int(e >> valueShift), nil
}

// entry looks the next code of t up without taking its bits.
func (d *Decoder) entry(t *table) (uint32, error) {
	// Ask for the longest code first, but a stream's last code may be
	// followed by fewer bits than that: ask again for what the code needs.
	if err := d.need(t.max); err != nil && err != io.ErrUnexpectedEOF {
		return 0, err
	}
	if d.nb < t.max {
		if err := d.need(t.primary); err != nil {
			return 0, err
		}
	}
	e := t.lookup(d.bits)
	n := uint(e & lenMask)
	if n == 0 {
		return 0, d.corrupt("invalid code")
	}
	if err := d.need(n); err != nil {
		return 0, err
	}
	return e, nil
}

// storedBytes copies from a stored block: first the whole bytes in the
// bit buffer, then from the input.
func (d *Decoder) storedBytes(limit int, atEnd bool) error {
	if d.stored == 0 {
		d.inBlock = false
		return nil
	}
	if atEnd || d.pos == limit {
		return ErrLong
	}
	for d.stored > 0 && d.nb >= 8 && d.pos < limit {
		d.out[d.pos] = byte(d.take(8))
		d.pos++
		d.stored--
	}
	for d.stored > 0 && d.pos < limit {
		if d.p == len(d.in) {
			got, err := d.more()
			if err != nil {
				return err
			}
			if !got {
				return io.ErrUnexpectedEOF
			}
		}
		n := copy(d.out[d.pos:min(limit, d.pos+d.stored)], d.in[d.p:])
		d.p += n
		d.pos += n
		d.stored -= n
	}
	if d.stored == 0 {
		d.inBlock = false
	}
	return nil
}

// slow decodes one symbol with every check: near the limit, near the end
// of the input, and at the end.
func (d *Decoder) slow(limit int, atEnd bool) error {
	e, err := d.entry(d.lit)
	if err != nil {
		return err
	}
	switch e & kindMask {
	case kindLit:
		if atEnd || d.pos == limit {
			return ErrLong
		}
		d.take(uint(e & lenMask))
		if d.overran() {
			return io.ErrUnexpectedEOF
		}
		d.out[d.pos] = byte(e >> valueShift)
		d.pos++
		return nil
	case kindEnd:
		d.take(uint(e & lenMask))
		if d.overran() {
			return io.ErrUnexpectedEOF
		}
		d.inBlock = false
		return nil
	case kindBad:
		return d.corrupt("invalid length code")
	}
	if atEnd || d.pos == limit {
		return ErrLong
	}
	d.take(uint(e & lenMask))
	extra := uint(e>>extraShift) & 15
	if err := d.need(extra); err != nil {
		return err
	}
	length := int(e>>valueShift) + int(d.take(extra))
	de, err := d.entry(d.dist)
	if err != nil {
		return err
	}
	if de&kindMask == kindBad {
		return d.corrupt("invalid distance code")
	}
	d.take(uint(de & lenMask))
	extra = uint(de>>extraShift) & 15
	if err := d.need(extra); err != nil {
		return err
	}
	dist := int(de>>valueShift) + int(d.take(extra))
	if d.overran() {
		return io.ErrUnexpectedEOF
	}
	if dist > d.pos {
		return d.corrupt("distance past the start")
	}
	d.copyDist = dist
	d.copyLen = d.match(length, dist, limit)
	return nil
}

// match copies length bytes from dist back, up to limit, and returns how
// many are left to copy.
func (d *Decoder) match(length, dist, limit int) int {
	n := min(length, limit-d.pos)
	out := d.out[:d.pos+n]
	from := d.pos - dist
	if dist >= n {
		copy(out[d.pos:], out[from:from+n])
	} else {
		// Overlapping: the copy repeats the last dist bytes; each pass
		// doubles what is there to copy from.
		for k := 0; k < n; {
			k += copy(out[d.pos+k:], out[from:d.pos+k])
		}
	}
	d.pos += n
	return length - n
}

// fast decodes symbols while there are eight input bytes for a refill and
// room for a longest match below limit: no checks of input or output per
// symbol. A 64-bit refill leaves at least 56 bits, enough for a length and
// a distance with their extra bits (48).
func (d *Decoder) fast(limit int) error {
	in, p := d.in, d.p
	out, pos := d.out[:limit], d.pos
	bitbuf, nb := d.bits, d.nb
	lit, dist := d.lit, d.dist
	lmask, dmask := uint64(1)<<lit.primary-1, uint64(1)<<dist.primary-1
	var err error
	for p+8 <= len(in) && pos+maxMatch+8 <= len(out) {
		// Branchless refill (as libdeflate does): load eight bytes above
		// the valid bits and count the whole bytes that fit.
		bitbuf |= le64(in[p:]) << (nb & 63)
		p += int(7 - (nb>>3)&7)
		nb |= 56

		e := lit.e[bitbuf&lmask]
		if e&kindMask == kindLink {
			e = lit.e[int(e>>valueShift)+int(bitbuf>>lit.primary)&(1<<(e>>extraShift&15)-1)]
		}
		n := uint(e & lenMask)
		if n == 0 {
			err = errInvalid
			break
		}
		bitbuf >>= n
		nb -= n
		switch e & kindMask {
		case kindLit:
			out[pos] = byte(e >> valueShift)
			pos++
			// Up to two more literals without a refill: a code is at most
			// 15 bits and at least 41 are left; a match waits for one.
			for range 2 {
				e = lit.e[bitbuf&lmask]
				if e&(kindMask|lenMask) > kindLit|15 || e&lenMask == 0 {
					break
				}
				bitbuf >>= e & lenMask
				nb -= uint(e & lenMask)
				out[pos] = byte(e >> valueShift)
				pos++
			}
			continue
		case kindEnd:
			d.inBlock = false
		case kindBad:
			err = errInvalid
		}
		if e&kindMask != kindLen {
			break
		}
		extra := uint(e>>extraShift) & 15
		length := int(e>>valueShift) + int(bitbuf&(1<<extra-1))
		bitbuf >>= extra
		nb -= extra
		de := dist.e[bitbuf&dmask]
		if de&kindMask == kindLink {
			de = dist.e[int(de>>valueShift)+int(bitbuf>>dist.primary)&(1<<(de>>extraShift&15)-1)]
		}
		n = uint(de & lenMask)
		if n == 0 || de&kindMask == kindBad {
			err = errInvalid
			break
		}
		bitbuf >>= n
		nb -= n
		extra = uint(de>>extraShift) & 15
		dst := int(de>>valueShift) + int(bitbuf&(1<<extra-1))
		bitbuf >>= extra
		nb -= extra
		if dst > pos {
			err = errFar
			break
		}
		from := pos - dst
		switch {
		case dst >= 8:
			// Eight bytes at a time, a few past the match: they are
			// written over later, and the loop leaves room for them.
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(out[pos+i:], binary.LittleEndian.Uint64(out[from+i:]))
			}
		case dst >= length:
			copy(out[pos:pos+length], out[from:from+length])
		default:
			for k := 0; k < length; {
				k += copy(out[pos+k:pos+length], out[from:pos+k])
			}
		}
		pos += length
	}
	d.p, d.pos, d.bits, d.nb = p, pos, bitbuf, nb
	switch err {
	case errInvalid:
		return d.corrupt("invalid code")
	case errFar:
		return d.corrupt("distance past the start")
	}
	return nil
}

var (
	errInvalid = errors.New("invalid code")
	errFar     = errors.New("distance past the start")
)

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// A table entry: the code's length in bits, the kind of symbol, the number
// of extra bits after it and a value (a literal, a length or distance
// base, or where a link's subtable starts, with the subtable's bits in the
// extra field).
const (
	lenMask    = 0x1f
	kindMask   = 0xe0
	kindLit    = 0 << 5
	kindLen    = 1 << 5 // a length, or in a distance table a distance
	kindEnd    = 2 << 5
	kindLink   = 3 << 5
	kindBad    = 4 << 5 // a symbol that no stream may use (286, 287; 30, 31)
	extraShift = 8
	valueShift = 16
)

// table decodes one prefix code: a primary table indexed by the next
// primary bits, whose entries for longer codes link to subtables.
type table struct {
	e       []uint32
	primary uint
	max     uint // the longest code
}

func (t *table) lookup(bitbuf uint64) uint32 {
	e := t.e[bitbuf&(1<<t.primary-1)]
	if e&kindMask == kindLink {
		e = t.e[int(e>>valueShift)+int(bitbuf>>t.primary)&(1<<(e>>extraShift&15)-1)]
	}
	return e
}

var lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
var lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
var distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
var distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

// leaf functions give a symbol's entry without its length.
func leafLit(sym int) uint32 {
	switch {
	case sym < 256:
		return kindLit | uint32(sym)<<valueShift
	case sym == 256:
		return kindEnd
	case sym < 286:
		i := sym - 257
		return kindLen | uint32(lengthExtra[i])<<extraShift | uint32(lengthBase[i])<<valueShift
	}
	return kindBad
}

func leafDist(sym int) uint32 {
	if sym < 30 {
		return kindLen | uint32(distExtra[sym])<<extraShift | uint32(distBase[sym])<<valueShift
	}
	return kindBad
}

func leafCodeLength(sym int) uint32 { return kindLit | uint32(sym)<<valueShift }

// build makes t decode the canonical prefix code of lengths, with a
// primary table of primary bits. As compress/flate does, it refuses an
// over-full or incomplete code, except a code of one symbol of one bit
// (zlib writes those), and takes a code with no symbols (a block without
// matches has an empty distance code). Entries of bit patterns no symbol
// has are zero: length 0, which decoding refuses.
func (t *table) build(lengths []uint8, primary uint, leaf func(int) uint32) bool {
	var count [16]int
	var maxLen uint
	for _, n := range lengths {
		count[n]++
		maxLen = max(maxLen, uint(n))
	}
	count[0] = 0
	var next [16]int
	code := 0
	for n := 1; n <= 15; n++ {
		code = (code + count[n-1]) << 1
		next[n] = code
	}
	// Check the code's completeness as compress/flate does.
	left := 0
	for n := 1; n <= int(maxLen); n++ {
		left = left<<1 + count[n]
	}
	if maxLen > 0 && left != 1<<maxLen && !(left == 1 && maxLen == 1) {
		return false
	}
	t.primary, t.max = primary, maxLen
	size := 1 << primary
	t.e = append(t.e[:0], make([]uint32, size)...)
	sub := max(int(maxLen)-int(primary), 0)
	for sym, n8 := range lengths {
		n := uint(n8)
		if n == 0 {
			continue
		}
		c := next[n]
		next[n]++
		rev := int(bits.Reverse16(uint16(c)) >> (16 - n))
		e := leaf(sym) | uint32(n)
		if n <= primary {
			for i := rev; i < size; i += 1 << n {
				t.e[i] = e
			}
			continue
		}
		j := rev & (size - 1)
		if t.e[j]&kindMask != kindLink {
			t.e[j] = kindLink | uint32(sub)<<extraShift | uint32(len(t.e))<<valueShift | uint32(primary)
			t.e = append(t.e, make([]uint32, 1<<sub)...)
		}
		base := int(t.e[j] >> valueShift)
		for i := rev >> primary; i < 1<<sub; i += 1 << (n - primary) {
			t.e[base+i] = e
		}
	}
	return true
}

// fixedTables returns the tables of the fixed code (RFC 1951 3.2.6).
var fixedTables = sync.OnceValues(func() (*table, *table) {
	var lit [288]uint8
	for i := range lit {
		switch {
		case i < 144:
			lit[i] = 8
		case i < 256:
			lit[i] = 9
		case i < 280:
			lit[i] = 7
		default:
			lit[i] = 8
		}
	}
	var dist [32]uint8
	for i := range dist {
		dist[i] = 5
	}
	var l, d table
	l.build(lit[:], 10, leafLit)
	d.build(dist[:], 8, leafDist)
	return &l, &d
})
