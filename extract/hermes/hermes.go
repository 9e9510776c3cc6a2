// Package hermes reads the string table of a Hermes bytecode file, the
// form React Native (0.70 and later, by default) ships its JavaScript in:
// android/assets/index.android.bundle, main.jsbundle on iOS.
//
// Hermes packs its strings into one storage blob with no separator between
// them, sharing bytes where one string's end is the next one's start, so
// reading the blob as text runs the strings together
// ("…/v1/loginwss://push…"). The small string table says where each string
// starts and how long it is (entries of 32 bits: isUTF16:1, offset:23,
// length:8, a length of 255 pointing into the overflow table of offset and
// length pairs).
//
// File layout (hermes/include/hermes/BCGen/HBC/BytecodeFileFormat.h): a
// 128-byte header (magic 0x1F1903C103BC1FC6, version, SHA-1, fileLength,
// globalCodeIndex, functionCount, stringKindCount, identifierCount,
// stringCount, overflowStringCount, stringStorageSize at byte 60, ...),
// then, each 4-byte aligned, the function headers, the string kinds, the
// identifier hashes, the small string table, the overflow table and the
// string storage. The function headers' size differs between bytecode
// versions, so the string kinds are found by what they must hold: run
// lengths that add up to stringCount, followed by tables that fit the
// file and entries that fit the storage.
package hermes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// Magic is the first eight bytes of a Hermes bytecode file.
const Magic = "\xc6\x1f\xbc\x03\xc1\x03\x19\x1f"

// ErrFormat marks a file that is not Hermes bytecode as this reader knows
// it, or whose tables do not fit it.
var ErrFormat = errors.New("not a readable Hermes bytecode file")

const headerSize = 128

// Caps: the strings read from one file (a real bundle holds tens of
// thousands), the runs of string kinds (a real one has a handful), the
// places where the string table is tried.
const (
	maxStrings = 1 << 21
	maxKinds   = 4096
	maxTries   = 64
)

var le = binary.LittleEndian

// Table is a file's string table, located.
type Table struct {
	b         []byte
	small     int // offset of the small string table
	overflow  int
	storage   int
	count     int
	overflows int
	size      int
}

// Version returns the bytecode version of a Hermes file, 0 if b is not one.
func Version(b []byte) int {
	if len(b) < 12 || string(b[:8]) != Magic {
		return 0
	}
	return int(le.Uint32(b[8:]))
}

// Open finds a file's string table.
func Open(b []byte) (*Table, error) {
	if len(b) < headerSize || string(b[:8]) != Magic {
		return nil, fmt.Errorf("hermes: no header: %w", ErrFormat)
	}
	u := func(at int) int { return int(le.Uint32(b[at:])) }
	funcs, kinds, idents, count, overflows, size := u(40), u(44), u(48), u(52), u(56), u(60)
	if count > maxStrings || kinds > count+1 || idents > count || overflows > count || size > len(b) || funcs > len(b)/8 {
		return nil, fmt.Errorf("hermes: %d strings, %d kinds, %d identifiers, %d overflows, %d bytes of storage in %d bytes: %w",
			count, kinds, idents, overflows, size, len(b), ErrFormat)
	}
	if kinds > maxKinds {
		return nil, fmt.Errorf("hermes: %d string kind runs: %w", kinds, ErrFormat)
	}
	// The function headers take between 8 and 32 bytes each: slide a
	// window of kinds entries over where the string kinds may start,
	// keeping its sum, and check the few places where it adds up.
	kind := func(p int) int { return int(le.Uint32(b[p:]) & 0x7fffffff) }
	p, last := headerSize+8*funcs, headerSize+32*funcs
	if p+4*kinds > len(b) {
		return nil, fmt.Errorf("hermes: %d functions: %w", funcs, ErrFormat)
	}
	sum := 0
	for k := range kinds {
		sum += kind(p + 4*k)
	}
	for tries := 0; p <= last && p+4*kinds <= len(b) && tries < maxTries; p += 4 {
		if p > headerSize+8*funcs {
			sum += kind(p+4*kinds-4) - kind(p-4)
		}
		if sum != count {
			continue
		}
		tries++
		t := &Table{b: b, count: count, overflows: overflows, size: size}
		t.small = p + 4*kinds + 4*idents
		t.overflow = t.small + 4*count
		t.storage = t.overflow + 8*overflows
		if t.storage+size > len(b) || !t.fits() {
			continue
		}
		return t, nil
	}
	return nil, fmt.Errorf("hermes: bytecode version %d: no string table found: %w", Version(b), ErrFormat)
}

// entry returns string i's offset in the storage, its length in bytes and
// whether it is UTF-16; ok is false for one outside the storage.
func (t *Table) entry(i int) (off, n int, wide, ok bool) {
	e := le.Uint32(t.b[t.small+4*i:])
	wide, off, n = e&1 == 1, int(e>>1)&(1<<23-1), int(e>>24)
	if n == 255 {
		if off >= t.overflows {
			return 0, 0, false, false
		}
		o := t.overflow + 8*off
		off, n = int(le.Uint32(t.b[o:])), int(le.Uint32(t.b[o+4:]))
	}
	if wide {
		n *= 2
	}
	return off, n, wide, off >= 0 && n >= 0 && off <= t.size && n <= t.size-off
}

// fits checks every entry against the storage.
func (t *Table) fits() bool {
	for i := range t.count {
		if _, _, _, ok := t.entry(i); !ok {
			return false
		}
	}
	return true
}

// Len is the number of strings.
func (t *Table) Len() int { return t.count }

// Strings calls yield with each string, as UTF-8, and the file offset of
// its bytes; yield returns false to stop. An ASCII or UTF-8 string is a
// view into the file, valid during the call.
func (t *Table) Strings(yield func(off int, s []byte, wide bool) bool) {
	for i := range t.count {
		off, n, wide, _ := t.entry(i)
		s := t.b[t.storage+off : t.storage+off+n]
		if wide {
			units := make([]uint16, n/2)
			for k := range units {
				units[k] = le.Uint16(s[2*k:])
			}
			s = []byte(string(utf16.Decode(units)))
		}
		if !yield(t.storage+off, s, wide) {
			return
		}
	}
}
