// Package iostest builds machine code that holds Swift small string
// literals as a compiler emits them, fat Mach-O files, and fetches the
// real Swift binary the tests read. No Swift compiler can be had here, so
// the instruction bytes follow the documented encodings (Arm A64 MOVZ,
// MOVK, ADD immediate, NOP; x86-64 MOV r64, imm64 with REX.W, ADD r64,
// imm8, MOV r/m, imm32, NOP). Test tooling only: nothing in the product
// imports it.
package iostest

import (
	"encoding/binary"
	"testing"

	"github.com/gownscan/gown/internal/npmpack"
)

// Words returns the two 64-bit words of an ASCII Swift small string
// (at most 15 bytes): bytes 0–7, then bytes 8–14 under the
// discriminator 0xE0|count.
func Words(s string) (uint64, uint64) {
	var b [16]byte
	copy(b[:15], s)
	b[15] = 0xe0 | byte(len(s))
	return binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])
}

func arm64Const(code []byte, rd uint32, v uint64) []byte {
	first := true
	for hw := uint32(0); hw < 4; hw++ {
		imm := uint32(v >> (16 * hw) & 0xffff)
		if imm == 0 && !(first && v == 0) {
			continue
		}
		op := uint32(0xf2800000) // MOVK
		if first {
			op, first = 0xd2800000, false // MOVZ
		}
		code = binary.LittleEndian.AppendUint32(code, op|hw<<21|imm<<5|rd)
	}
	return code
}

const arm64Nop = 0xd503201f

// ARM64 returns arm64 code building each string into x0 (first word) and
// x1 (second word), the second word first and two NOPs between them, as
// when a compiler hoists it.
func ARM64(strs []string) []byte {
	var code []byte
	for _, s := range strs {
		w0, w1 := Words(s)
		code = arm64Const(code, 1, w1)
		code = binary.LittleEndian.AppendUint32(code, arm64Nop)
		code = binary.LittleEndian.AppendUint32(code, arm64Nop)
		code = arm64Const(code, 0, w0)
		code = binary.LittleEndian.AppendUint32(code, 0x94000000) // BL
	}
	return code
}

// AMD64 returns x86-64 code building each string: the first word with
// MOVABS RDI (or, when it fits, MOV DWORD [RBX+0x20], imm32), the second
// with MOVABS RSI, imm64 - 1 followed by ADD RSI, 1 (as LLVM derives one
// constant from another).
func AMD64(strs []string) []byte {
	var code []byte
	for _, s := range strs {
		w0, w1 := Words(s)
		if w0 < 1<<31 {
			code = append(code, 0xc7, 0x43, 0x20) // MOV DWORD [RBX+0x20], imm32
			code = binary.LittleEndian.AppendUint32(code, uint32(w0))
		} else {
			code = append(code, 0x48, 0xbf) // MOVABS RDI, imm64
			code = binary.LittleEndian.AppendUint64(code, w0)
		}
		code = append(code, 0x90, 0x90, 0x48, 0xbe) // NOP NOP MOVABS RSI, imm64
		code = binary.LittleEndian.AppendUint64(code, w1-1)
		code = append(code, 0x48, 0x83, 0xc6, 0x01, 0xe8, 0, 0, 0, 0) // ADD RSI, 1; CALL
	}
	return code
}

// Fat returns a universal Mach-O holding thin files for the given CPU
// types (CPU_TYPE_ARM64 0x0100000c, CPU_TYPE_X86_64 0x01000007), each
// aligned to 4 KiB; the thin file's own header names its CPU.
func Fat(thins map[uint32][]byte) []byte {
	cpus := []uint32{0x01000007, 0x0100000c}
	out := binary.BigEndian.AppendUint32(nil, 0xcafebabe)
	var n uint32
	for _, c := range cpus {
		if thins[c] != nil {
			n++
		}
	}
	out = binary.BigEndian.AppendUint32(out, n)
	off := uint32(4096)
	var body []byte
	for _, c := range cpus {
		t := thins[c]
		if t == nil {
			continue
		}
		for _, v := range []uint32{c, 0, off, uint32(len(t)), 12} {
			out = binary.BigEndian.AppendUint32(out, v)
		}
		body = append(body, t...)
		for len(body)%4096 != 0 {
			body = append(body, 0)
		}
		off = 4096 + uint32(len(body))
	}
	for len(out) < 4096 {
		out = append(out, 0)
	}
	return append(out, body...)
}

// GetWindows is the npm package that ships a universal (x86_64 and
// arm64) Swift executable, package/main, compiled by its maintainers from
// Sources/GetWindowsCLI/*.swift of the same version (MIT). Fetched with
// npm pack into the cache folder the real-app tests use, never committed.
const GetWindows = "get-windows@9.2.3"

// RealSwift returns the bytes of get-windows' Swift binary. Without npm
// the test is skipped locally and fails in CI.
func RealSwift(t testing.TB) []byte {
	t.Helper()
	return npmpack.File(t, GetWindows, "package/main", 64<<20)
}

// Section is one section of a test Mach-O, in segment __TEXT.
type Section struct {
	Name string
	Data []byte
}

// Symbol is a defined symbol of a test Mach-O: a name (with Mach-O's
// leading underscore) at an offset in a section (an index into the
// sections given).
type Symbol struct {
	Name     string
	Sect     int
	Off      uint64
	External bool
}

// MachO writes a 64-bit little-endian Mach-O dylib for the CPU type
// (0x0100000c arm64, 0x01000007 x86_64) with one __TEXT segment holding
// the sections, and a symbol table (LC_SYMTAB) of the symbols, as an iOS
// framework's binary is laid out.
func MachO(cpu uint32, secs []Section, syms []Symbol) []byte {
	le := binary.LittleEndian
	cmds := 72 + 80*len(secs) + 24
	at := (32 + cmds + 15) &^ 15
	offs := make([]int, len(secs))
	for i, s := range secs {
		offs[i] = at
		at += (len(s.Data) + 15) &^ 15
	}
	symoff := at
	var strtab []byte = []byte{0}
	var nl []byte
	for _, s := range syms {
		nl = le.AppendUint32(nl, uint32(len(strtab)))
		strtab = append(append(strtab, s.Name...), 0)
		typ := byte(0x0e) // N_SECT
		if s.External {
			typ |= 0x01
		}
		nl = append(nl, typ, byte(s.Sect+1))
		nl = le.AppendUint16(nl, 0)
		nl = le.AppendUint64(nl, 0x1000+uint64(offs[s.Sect])+s.Off)
	}
	stroff := symoff + len(nl)
	out := make([]byte, stroff+len(strtab))
	le.PutUint32(out[0:], 0xfeedfacf)
	le.PutUint32(out[4:], cpu)
	le.PutUint32(out[12:], 6) // MH_DYLIB
	le.PutUint32(out[16:], 2)
	le.PutUint32(out[20:], uint32(cmds))
	c := out[32:]
	le.PutUint32(c[0:], 0x19) // LC_SEGMENT_64
	le.PutUint32(c[4:], uint32(72+80*len(secs)))
	copy(c[8:24], "__TEXT")
	le.PutUint64(c[24:], 0x1000)
	le.PutUint64(c[32:], uint64(symoff))
	le.PutUint64(c[40:], 0)
	le.PutUint64(c[48:], uint64(symoff))
	le.PutUint32(c[56:], 5)
	le.PutUint32(c[60:], 5)
	le.PutUint32(c[64:], uint32(len(secs)))
	for i, s := range secs {
		h := c[72+80*i:]
		copy(h[0:16], s.Name)
		copy(h[16:32], "__TEXT")
		le.PutUint64(h[32:], 0x1000+uint64(offs[i]))
		le.PutUint64(h[40:], uint64(len(s.Data)))
		le.PutUint32(h[48:], uint32(offs[i]))
		le.PutUint32(h[52:], 4)
		copy(out[offs[i]:], s.Data)
	}
	st := c[72+80*len(secs):]
	le.PutUint32(st[0:], 0x2) // LC_SYMTAB
	le.PutUint32(st[4:], 24)
	le.PutUint32(st[8:], uint32(symoff))
	le.PutUint32(st[12:], uint32(len(syms)))
	le.PutUint32(st[16:], uint32(stroff))
	le.PutUint32(st[20:], uint32(len(strtab)))
	copy(out[symoff:], nl)
	copy(out[stroff:], strtab)
	return out
}
