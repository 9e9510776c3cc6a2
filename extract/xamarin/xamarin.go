// Package xamarin unwraps the assemblies of Xamarin.Android and .NET for
// Android apps, where C# string literals (the #US heap of each assembly,
// UTF-16) name the back ends: assemblies/*.dll may each be compressed
// ("XALZ": magic, a u32 descriptor index, the u32 uncompressed size, then
// one LZ4 block), and assemblies.blob ("XABA") packs many, each compressed
// the same way. Decompress returns an assembly's bytes for the extractor's
// readers; nothing is executed.
package xamarin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic marks an LZ4-compressed assembly; BlobMagic an assembly store.
const (
	Magic     = "XALZ"
	BlobMagic = "XABA"
)

// ErrFormat marks data that is not a readable compressed assembly.
var ErrFormat = errors.New("not a readable XALZ assembly")

// Decompress unpacks one XALZ assembly into a new buffer of at most max
// bytes. It returns the bytes and how many of b it used.
func Decompress(b []byte, max int) ([]byte, int, error) {
	if len(b) < 12 || string(b[:4]) != Magic {
		return nil, 0, fmt.Errorf("xalz: no header: %w", ErrFormat)
	}
	size := int(binary.LittleEndian.Uint32(b[8:]))
	if size > max {
		return nil, 0, fmt.Errorf("xalz: %d bytes uncompressed, over the cap of %d: %w", size, max, ErrFormat)
	}
	out, used, err := lz4Block(b[12:], size)
	return out, 12 + used, err
}

// lz4Block decodes one LZ4 block (lz4.org block format) that inflates to
// exactly size bytes, and returns how many input bytes it read.
func lz4Block(src []byte, size int) ([]byte, int, error) {
	dst := make([]byte, 0, size)
	i := 0
	for i < len(src) {
		tok := src[i]
		i++
		lit := int(tok >> 4)
		if lit == 15 {
			for {
				if i >= len(src) {
					return nil, i, fmt.Errorf("xalz: literal length past the input: %w", ErrFormat)
				}
				c := src[i]
				i++
				lit += int(c)
				if lit > size {
					return nil, i, fmt.Errorf("xalz: literals past the size: %w", ErrFormat)
				}
				if c != 255 {
					break
				}
			}
		}
		if lit > len(src)-i || len(dst)+lit > size {
			return nil, i, fmt.Errorf("xalz: %d literals past the input or the size: %w", lit, ErrFormat)
		}
		dst = append(dst, src[i:i+lit]...)
		i += lit
		if len(dst) == size {
			return dst, i, nil // the last sequence holds literals only
		}
		if i+2 > len(src) {
			return nil, i, fmt.Errorf("xalz: match offset past the input: %w", ErrFormat)
		}
		off := int(src[i]) | int(src[i+1])<<8
		i += 2
		n := int(tok & 15)
		if n == 15 {
			for {
				if i >= len(src) {
					return nil, i, fmt.Errorf("xalz: match length past the input: %w", ErrFormat)
				}
				c := src[i]
				i++
				n += int(c)
				if n > size {
					return nil, i, fmt.Errorf("xalz: match past the size: %w", ErrFormat)
				}
				if c != 255 {
					break
				}
			}
		}
		n += 4
		if off == 0 || off > len(dst) || len(dst)+n > size {
			return nil, i, fmt.Errorf("xalz: match of %d at offset %d: %w", n, off, ErrFormat)
		}
		for k := 0; k < n; k++ { // may overlap itself: byte by byte
			dst = append(dst, dst[len(dst)-off])
		}
	}
	if len(dst) != size {
		return nil, i, fmt.Errorf("xalz: %d of %d bytes: %w", len(dst), size, ErrFormat)
	}
	return dst, i, nil
}

// Each calls fn with every XALZ assembly in an assembly store (or any
// data), at most limit of them, decompressed within max bytes each, and
// its offset; fn returns false to stop. It returns the first error.
func Each(b []byte, max, limit int, fn func(off int, asm []byte) bool) error {
	var first error
	for at, n := 0, 0; n < limit; n++ {
		i := bytes.Index(b[at:], []byte(Magic))
		if i < 0 {
			break
		}
		at += i
		asm, used, err := Decompress(b[at:], max)
		if err != nil {
			if first == nil {
				first = err
			}
			at += 4
			continue
		}
		if !fn(at, asm) {
			break
		}
		at += used
	}
	return first
}
