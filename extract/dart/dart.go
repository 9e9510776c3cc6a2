// Package dart reads the string objects of a Dart AOT snapshot: the
// libapp.so of a Flutter app (symbols _kDartVmSnapshotData and
// _kDartIsolateSnapshotData) or a snapshot the Dart SDK's AOT compiler
// writes for itself (_kDartSnapshotData), where an app's URLs and hosts
// are kept as String objects.
//
// A snapshot data image starts with the magic 0xdcdcf5f5, its length, its
// kind, a 32-character version hash and a NUL-terminated feature string
// ("product ... x64 linux no-compressed-pointers"). Its read-only part
// holds the strings as heap objects, laid out as the VM lays them out in
// memory: a header word (a tags word whose bits 8–11 give the object's
// size in allocation units when it is small and whose bits from 12 give
// the class id; on 64-bit the upper half holds the hash), the length as a
// Smi (the value shifted left by one), then the characters, one byte each
// (Latin-1) for a OneByteString or two (UTF-16) for a TwoByteString, and
// zero padding to the allocation unit (16 bytes on 64-bit, 8 on 32-bit).
// With compressed pointers (Flutter on arm64 and x64) the length is a
// 32-bit Smi and the characters start at byte 12; on 32-bit targets the
// tags and the length are 32-bit words followed by a 32-bit hash.
//
// Class ids change between Dart versions (OneByteString is 94 in Dart
// 3.13, TwoByteString the next), so the reader does not trust a table: it
// tries the layouts the feature string allows (all of them when it names
// no known architecture) and takes the class id under which the most
// well-formed one-byte strings lie (printable characters, a length that
// fits the object's size tag and zero padding), the two-byte class being
// the one after it. Every length and offset is checked against the image,
// and the work is linear in its size.
package dart

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Magic is the first four bytes of a snapshot data image.
const Magic = "\xf5\xf5\xdc\xdc"

// ErrFormat marks an image this reader cannot read.
var ErrFormat = errors.New("not a readable Dart AOT snapshot")

// DataSymbols are the names of the dynamic symbols that mark snapshot
// data images in an ELF: the Dart SDK's single image, and Flutter's VM
// and isolate images.
var DataSymbols = []string{"_kDartSnapshotData", "_kDartVmSnapshotData", "_kDartIsolateSnapshotData"}

// maxImages caps the images read from one file: a file naming one image
// many times costs no more than this many reads.
const maxImages = 8

// maxString caps the characters of one string object; longer lengths are
// read as not a string.
const maxString = 1 << 20

var le = binary.LittleEndian

// Image is one snapshot data image in an ELF file.
type Image struct {
	Symbol   string // e.g. _kDartIsolateSnapshotData
	Off, End int    // file offsets of its bytes
}

// Images returns the snapshot data images of an ELF file of size bytes,
// found through its dynamic symbols, each checked to start with Magic.
// A file without them (any other native library) gives none and no error.
func Images(f *elf.File, b []byte) []Image {
	if dynstr := f.Section(".dynstr"); dynstr == nil || dynstr.Size > 1<<24 {
		return nil
	} else if names, err := dynstr.Data(); err != nil || !bytes.Contains(names, []byte("_kDart")) {
		return nil
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil
	}
	var out []Image
	for _, s := range syms {
		if len(out) >= maxImages {
			break
		}
		if !isDataSymbol(s.Name) || int(s.Section) >= len(f.Sections) || s.Section == elf.SHN_UNDEF {
			continue
		}
		sec := f.Sections[s.Section]
		if s.Value < sec.Addr || sec.Type == elf.SHT_NOBITS {
			continue
		}
		off := sec.Offset + (s.Value - sec.Addr)
		end := off + s.Size
		if s.Size == 0 || end > sec.Offset+sec.Size { // no size: to the end of the section
			end = sec.Offset + sec.Size
		}
		if off >= end || end > uint64(len(b)) || !bytes.HasPrefix(b[off:end], []byte(Magic)) {
			continue
		}
		out = append(out, Image{Symbol: s.Name, Off: int(off), End: int(end)})
	}
	return out
}

func isDataSymbol(name string) bool {
	for _, s := range DataSymbols {
		if name == s {
			return true
		}
	}
	return false
}

// Features returns the feature string of a snapshot data image ("product
// no-asan ... x64 linux no-compressed-pointers"), or "" when there is none.
func Features(img []byte) string {
	const at = 4 + 8 + 8 + 32 // magic, length, kind, version hash
	if len(img) < at || string(img[:4]) != Magic {
		return ""
	}
	rest := img[at:min(len(img), at+1024)]
	if i := bytes.IndexByte(rest, 0); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

// String is one string object of an image.
type String struct {
	Off, End int    // offsets in the image of the object (header to padding end)
	Data     int    // offset of its characters
	Text     []byte // UTF-8: a view into the image for ASCII, else decoded
	Wide     bool   // a TwoByteString
}

// layout is how one target lays out a string object.
type layout struct {
	align          int // allocation unit
	lenAt, lenSize int // length Smi: offset and width
	dataAt         int // characters
	cidPos, sizeW  int // class id bit position and size tag width (from bit 8)
}

var layouts = []layout{
	{16, 8, 8, 16, 12, 4}, // 64-bit, Dart 3
	{16, 8, 4, 12, 12, 4}, // 64-bit with compressed pointers
	{8, 4, 4, 12, 12, 4},  // 32-bit
	{16, 8, 8, 16, 16, 8}, // 64-bit, Dart 2 (class id at bit 16, 8-bit size tag)
	{16, 8, 4, 12, 16, 8},
	{8, 4, 4, 12, 16, 8},
}

// object reads the header at p under l: its class id, its length in
// characters of width w (1 or 2), and its end, when they are consistent:
// a length that fits the image and the size tag, and zero padding.
func (l layout) object(img []byte, p, w int) (cid uint32, n, end int, ok bool) {
	if p+l.dataAt > len(img) {
		return 0, 0, 0, false
	}
	tags := le.Uint32(img[p:])
	var smi uint64
	if l.lenSize == 8 {
		smi = le.Uint64(img[p+l.lenAt:])
	} else {
		smi = uint64(le.Uint32(img[p+l.lenAt:]))
	}
	if smi&1 != 0 || smi == 0 || smi>>1 > maxString {
		return 0, 0, 0, false
	}
	n = int(smi >> 1)
	size := (l.dataAt + w*n + l.align - 1) / l.align * l.align
	end = p + size
	if end > len(img) {
		return 0, 0, 0, false
	}
	tag := int(tags>>8) & (1<<l.sizeW - 1)
	if tag == 0 && size <= (1<<l.sizeW-1)*l.align || tag != 0 && tag*l.align != size {
		return 0, 0, 0, false
	}
	for _, c := range img[p+l.dataAt+w*n : end] {
		if c != 0 {
			return 0, 0, 0, false
		}
	}
	return tags >> l.cidPos & (1<<(32-l.cidPos) - 1), n, end, true
}

// oneByte reports whether s is text as a OneByteString holds it: Latin-1
// with no control characters but tab, line feed and carriage return.
func oneByte(s []byte) bool {
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c >= 0x7f && c < 0xa0 {
			return false
		}
	}
	return true
}

// twoByte decodes a TwoByteString's characters, false when they are not
// text (control characters, unpaired surrogates). It checks before it
// allocates, so a long run that is no string costs no memory.
func twoByte(b []byte) ([]byte, bool) {
	n := len(b) / 2
	for i := 0; i < n; i++ {
		c := rune(le.Uint16(b[2*i:]))
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c >= 0x7f && c < 0xa0, c >= 0xdc00 && c < 0xe000:
			return nil, false
		case c >= 0xd800 && c < 0xdc00: // a high surrogate wants a low one
			if i+1 >= n {
				return nil, false
			}
			if d := le.Uint16(b[2*i+2:]); d < 0xdc00 || d >= 0xe000 {
				return nil, false
			}
			i++
		}
	}
	out := make([]byte, 0, len(b)+len(b)/2)
	for i := 0; i < n; i++ {
		c := rune(le.Uint16(b[2*i:]))
		if c >= 0xd800 && c < 0xdc00 {
			c = utf16.DecodeRune(c, rune(le.Uint16(b[2*i+2:])))
			i++
		}
		out = utf8.AppendRune(out, c)
	}
	return out, true
}

// latin1 returns s as UTF-8: s itself when it is ASCII.
func latin1(s []byte) []byte {
	ascii := true
	for _, c := range s {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	out := make([]byte, 0, 2*len(s))
	for _, c := range s {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// maxVotes ends the vote early: a few thousand well-formed strings are
// plenty to tell the class id.
const maxVotes = 4096

// candidates returns the layouts the feature string allows: the word size
// from the architecture, compressed pointers when it says so; all of them
// when it says nothing known.
func candidates(features string) []layout {
	words := strings.Fields(features)
	var bits int
	compressed := false
	for _, w := range words {
		switch w {
		case "x64", "arm64", "riscv64":
			bits = 64
		case "arm", "ia32", "riscv32":
			bits = 32
		case "compressed-pointers":
			compressed = true
		}
	}
	var out []layout
	for _, l := range layouts {
		switch {
		case bits == 32 && l.align == 8,
			bits == 64 && l.align == 16 && (l.lenSize == 4) == compressed:
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return layouts
	}
	return out
}

// classes finds the layout and the OneByteString class id of an image:
// those under which the most well-formed one-byte strings lie.
func classes(img []byte) (layout, uint32, int) {
	type key struct {
		l   int
		cid uint32
	}
	ls := candidates(Features(img))
	votes := map[key]int{}
	for li, l := range ls {
		total := 0
		for p := 0; p+l.dataAt <= len(img) && total < maxVotes; p += l.align {
			cid, n, _, ok := l.object(img, p, 1)
			if ok && cid != 0 && oneByte(img[p+l.dataAt:p+l.dataAt+n]) {
				votes[key{li, cid}]++
				total++
			}
		}
	}
	var best key
	top := 0
	for k, v := range votes {
		if v > top || v == top && (k.l < best.l || k.l == best.l && k.cid < best.cid) {
			best, top = k, v
		}
	}
	return ls[best.l], best.cid, top
}

// Strings calls yield with each string object of a snapshot data image
// (img starts with Magic), in the order they lie; yield returns false to
// stop. It returns ErrFormat when the image holds no string it can place.
func Strings(img []byte, yield func(String) bool) error {
	if len(img) < 64 || string(img[:4]) != Magic {
		return ErrFormat
	}
	l, one, votes := classes(img)
	if votes == 0 {
		return ErrFormat
	}
	mask := uint32(1)<<(32-l.cidPos) - 1
	for p := 0; p+l.dataAt <= len(img); {
		if cid := le.Uint32(img[p:]) >> l.cidPos & mask; cid != one && cid != one+1 {
			p += l.align // most objects: no string, told by the class id alone
			continue
		}
		s, ok := stringAt(img, l, one, p)
		if !ok {
			p += l.align
			continue
		}
		if !yield(s) {
			return nil
		}
		p = s.End
	}
	return nil
}

// stringAt reads the string object at p, if there is one of class one
// (OneByteString) or one+1 (TwoByteString).
func stringAt(img []byte, l layout, one uint32, p int) (String, bool) {
	if cid, n, end, ok := l.object(img, p, 1); ok && cid == one {
		d := img[p+l.dataAt : p+l.dataAt+n]
		if oneByte(d) {
			return String{Off: p, End: end, Data: p + l.dataAt, Text: latin1(d)}, true
		}
	}
	if cid, n, end, ok := l.object(img, p, 2); ok && cid == one+1 {
		if t, ok := twoByte(img[p+l.dataAt : p+l.dataAt+2*n]); ok {
			return String{Off: p, End: end, Data: p + l.dataAt, Text: t, Wide: true}, true
		}
	}
	return String{}, false
}
