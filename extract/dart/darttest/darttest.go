// Package darttest builds Dart AOT snapshot data images for tests, laid
// out as the Dart VM lays out its string objects, and fetches the real
// snapshot the tests read. Test tooling only: nothing in the product
// imports it.
package darttest

import (
	"encoding/binary"
	"testing"
	"unicode/utf16"

	"github.com/gownscan/gown/internal/npmpack"
)

// SassEmbedded is the npm package that ships a real Dart 3.13 AOT snapshot
// (package/dart-sass/src/sass.snapshot, an ELF with _kDartSnapshotData
// and _kDartSnapshotText written by the Dart SDK's AOT compiler, as
// Flutter's libapp.so is; MIT). Fetched with npm pack into the cache
// folder the real-app tests use, never committed.
const SassEmbedded = "sass-embedded-linux-x64@1.108.2"

// RealSnapshot returns the bytes of the real snapshot. Without npm the
// test is skipped locally and fails in CI.
func RealSnapshot(t testing.TB) []byte {
	t.Helper()
	return npmpack.File(t, SassEmbedded, "package/dart-sass/src/sass.snapshot", 64<<20)
}

// Layout is how a target lays out a string object.
type Layout int

// Layouts: 64-bit (the Dart SDK on x64), 64-bit with compressed pointers
// (Flutter on arm64 and x64), 32-bit (Flutter on armeabi-v7a).
const (
	Wide Layout = iota
	Compressed
	Narrow
)

// OneByteCid is the class id of OneByteString in Dart 3.13 (the real
// snapshot's); TwoByteString is the next.
const OneByteCid = 94

// Image returns a snapshot data image holding strs as string objects of
// layout l, each a OneByteString when it is Latin-1 and a TwoByteString
// otherwise, with a non-string object (an array of words that look like
// neither) between every two.
func Image(l Layout, strs []string) []byte {
	align, lenAt, lenSize, dataAt := 16, 8, 8, 16
	feat := "product no-code_comments x64 linux no-compressed-pointers"
	switch l {
	case Compressed:
		lenSize, dataAt, feat = 4, 12, "product no-code_comments arm64 android compressed-pointers"
	case Narrow:
		align, lenAt, lenSize, dataAt, feat = 8, 4, 4, 12, "product no-code_comments arm android"
	}
	b := []byte("\xf5\xf5\xdc\xdc")
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint64(b, 2) // kind: full AOT
	b = append(b, "0451907c2eaa8467e848c0067bfe8ed4"...)
	b = append(b, feat...)
	b = append(b, 0)
	pad := func() {
		for len(b)%align != 0 {
			b = append(b, 0)
		}
	}
	pad()
	object := func(cid uint32, n int, data []byte) {
		size := (dataAt + len(data) + align - 1) / align * align
		tag := uint32(size / align)
		if tag > 15 {
			tag = 0
		}
		start := len(b)
		b = binary.LittleEndian.AppendUint32(b, cid<<12|tag<<8|0xb2)
		if align == 16 {
			b = binary.LittleEndian.AppendUint32(b, 0x27d99505) // hash
		}
		for len(b) < start+lenAt {
			b = append(b, 0)
		}
		if lenSize == 8 {
			b = binary.LittleEndian.AppendUint64(b, uint64(n)<<1)
		} else {
			b = binary.LittleEndian.AppendUint32(b, uint32(n)<<1)
		}
		for len(b) < start+dataAt {
			b = append(b, 0x5a) // a 32-bit hash
		}
		b = append(b, data...)
		pad()
	}
	for i, s := range strs {
		if i > 0 {
			// An array: class id 80, a length Smi of 3 words.
			object(80, 3, []byte("\x01\x01\x01\x01\xff\xff\xff\xff\x10\x20\x30\x40"))
		}
		rs := []rune(s)
		latin := true
		for _, r := range rs {
			latin = latin && r <= 0xff
		}
		if latin {
			d := make([]byte, len(rs))
			for j, r := range rs {
				d[j] = byte(r)
			}
			object(OneByteCid, len(d), d)
			continue
		}
		u := utf16.Encode(rs)
		d := make([]byte, 0, 2*len(u))
		for _, c := range u {
			d = binary.LittleEndian.AppendUint16(d, c)
		}
		object(OneByteCid+1, len(u), d)
	}
	return b
}
