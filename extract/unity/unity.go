// Package unity reads the string literals of a Unity IL2CPP game's
// global-metadata.dat (assets/bin/Data/Managed/Metadata/ on Android,
// Data/Managed/Metadata/ in an iOS bundle): the C# string literals of
// every script, the place a game keeps its back ends' URLs.
//
// The literal data is one blob with no separator between strings, so it
// must be read through the literal table: entries of {length u32,
// dataIndex i32} into the data. Header (Il2CppGlobalMetadataHeader,
// metadata versions 16 to 31, as Il2CppDumper reads them): sanity
// 0xFAB11BAF, version, then offset and size pairs of the literal table
// (at byte 8) and the literal data (at byte 16).
package unity

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic is the first four bytes of global-metadata.dat.
const Magic = "\xaf\x1b\xb1\xfa"

// ErrFormat marks a file this reader cannot read.
var ErrFormat = errors.New("not a readable IL2CPP global-metadata.dat")

// maxLiterals caps the literals read from one file.
const maxLiterals = 1 << 22

var le = binary.LittleEndian

// Version is the metadata version of b, 0 if b is no metadata file.
func Version(b []byte) int {
	if len(b) < 8 || string(b[:4]) != Magic {
		return 0
	}
	return int(int32(le.Uint32(b[4:])))
}

// Data returns where the literal data lies in b, for a reader that scans
// the rest of the file as text; ok is false when the header cannot say.
func Data(b []byte) (off, size int, ok bool) {
	if v := Version(b); v < 16 || v > 31 || len(b) < 24 {
		return 0, 0, false
	}
	off, size = int(le.Uint32(b[16:])), int(le.Uint32(b[20:]))
	return off, size, off >= 24 && off <= len(b) && size <= len(b)-off
}

// Literals calls yield with each string literal and the file offset of
// its bytes; yield returns false to stop. Literals are views into b.
func Literals(b []byte, yield func(off int, s []byte) bool) error {
	v := Version(b)
	if v < 16 || v > 31 || len(b) < 24 {
		return fmt.Errorf("il2cpp metadata version %d: %w", v, ErrFormat)
	}
	u := func(at int) int { return int(le.Uint32(b[at:])) }
	tab, tabSize, data, dataSize := u(8), u(12), u(16), u(20)
	if tab < 24 || tab > len(b) || tabSize > len(b)-tab || tabSize%8 != 0 || data < 24 || data > len(b) || dataSize > len(b)-data {
		return fmt.Errorf("il2cpp metadata: literal table %d+%d, data %d+%d in %d bytes: %w", tab, tabSize, data, dataSize, len(b), ErrFormat)
	}
	n := tabSize / 8
	if n > maxLiterals {
		return fmt.Errorf("il2cpp metadata: %d literals: %w", n, ErrFormat)
	}
	bad := 0
	for i := range n {
		length, index := u(tab+8*i), u(tab+8*i+4)
		if index > dataSize || length > dataSize-index {
			bad++
			continue
		}
		if !yield(data+index, b[data+index:data+index+length]) {
			return nil
		}
	}
	if bad > 0 {
		return fmt.Errorf("il2cpp metadata: %d of %d literals outside the data: %w", bad, n, ErrFormat)
	}
	return nil
}
