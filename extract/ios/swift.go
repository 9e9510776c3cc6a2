package ios

import (
	"encoding/binary"
	"slices"
)

// Swift keeps a string literal of at most 15 UTF-8 bytes in the String
// value itself (a "small string"), so it is in no string section: the
// compiler builds the two 64-bit words of the value with immediates in
// the code. The first word holds bytes 0–7, the second bytes 8–14 and, in
// its top byte, a discriminator: 0xE0|count for an ASCII small string
// (0xA0|count when it is not ASCII). On arm64 each word is a MOVZ then
// MOVKs into one register (or a 32-bit MOVZ/MOVK for a word that fits),
// an ADD of an immediate sometimes after; on x86_64 a MOVABS (MOV r64,
// imm64) or a MOV of a 32-bit immediate to a register or to memory, a
// MOVABS sometimes followed by an ADD of a small immediate to the same
// register (LLVM derives one constant from a nearby one). SmallStrings
// finds those constants without disassembling (a linear scan for the few
// encodings, arm64 at each 4-byte boundary, x86_64 at each byte) and
// pairs each first word whose printable ASCII bytes and zero tail give a
// count with a second word of that count a few instructions away. Only
// ASCII small strings are read.

// Small is one small string literal read from code.
type Small struct {
	Off  int    // offset in the code of the instruction building its first word
	Text string // its bytes
}

// Architectures SmallStrings reads.
const (
	ArchARM64 = "arm64"
	ArchAMD64 = "x86_64"
)

// pairWindow is how far apart, in code bytes, the two words' instructions
// may be (and how far apart a MOVZ and its MOVKs); the second word may
// come from further back, as compilers hoist a constant many literals
// share (0xE8 << 56, the second word of every 8-byte string) into a
// register early.
const (
	pairWindow = 64
	hoistBack  = 192
	adjacent   = 16
)

// maxConsts caps the constants kept from one code section: a section of
// data dressed as code costs at most this much memory.
const maxConsts = 1 << 20

// constant is a 64-bit immediate the code puts in a register or memory.
type constant struct {
	off int
	val uint64
}

// SmallStrings returns the ASCII small string literals of the code of one
// architecture, in code order.
func SmallStrings(code []byte, arch string) []Small {
	var cs []constant
	switch arch {
	case ArchARM64:
		cs = arm64Consts(code)
	case ArchAMD64:
		cs = amd64Consts(code)
	default:
		return nil
	}
	// Each first word, in code order, takes the second word of its count
	// built right next to it (within adjacent bytes), else the nearest
	// before it, else the nearest after it: compilers build the two words
	// together or the second one first (and hoist the ones many literals
	// share). A second word that carries characters (count > 8)
	// goes to one first word only; a bare 0xEn << 56 may be shared, as a
	// hoisted register is.
	var out []Small
	taken := map[int]bool{}
	j := 0 // first constant within the window behind
	for i, c := range cs {
		k := firstCount(c.val)
		if k == 0 {
			continue
		}
		for j < len(cs) && cs[j].off < c.off-hoistBack {
			j++
		}
		before, after, near, nearD := -1, -1, -1, adjacent+1
		for m := j; m < len(cs) && cs[m].off <= c.off+pairWindow; m++ {
			n := secondCount(cs[m].val)
			if m == i || n == 0 || (k < 8 && n != k) || (k == 8 && n < 8) || taken[m] {
				continue
			}
			if m < i {
				before = m // the last one before is the nearest
			} else if after < 0 {
				after = m
			}
			if d := max(cs[m].off-c.off, c.off-cs[m].off); d < nearD {
				near, nearD = m, d
			}
		}
		m := near
		if m < 0 {
			m = before
		}
		if m < 0 {
			m = after
		}
		if m < 0 {
			continue
		}
		n := secondCount(cs[m].val)
		if n > 8 {
			taken[m] = true
		}
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], c.val)
		binary.LittleEndian.PutUint64(b[8:], cs[m].val)
		out = append(out, Small{Off: c.off, Text: string(b[:n])})
	}
	return out
}

// firstCount returns how many leading bytes of a first word are printable
// ASCII with only zeros after them, 0 when the word is no such thing.
func firstCount(v uint64) int {
	n := 0
	for ; n < 8; n++ {
		c := byte(v >> (8 * n))
		if c < 0x20 || c >= 0x7f {
			break
		}
	}
	if n == 0 || n < 8 && v>>(8*n) != 0 {
		return 0
	}
	return n
}

// secondCount returns the count of an ASCII small string's second word:
// a top byte 0xE1–0xEF, printable bytes for the characters past the
// eighth and zeros after them; 0 when the word is no such thing.
func secondCount(v uint64) int {
	top := byte(v >> 56)
	n := int(top & 0x0f)
	if top&0xf0 != 0xe0 || n == 0 {
		return 0
	}
	rest := n - 8 // characters in this word
	for i := 0; i < 7; i++ {
		c := byte(v >> (8 * i))
		if i < rest && (c < 0x20 || c >= 0x7f) || i >= rest && c != 0 {
			return 0
		}
	}
	return n
}

// arm64Consts follows MOVZ then MOVK into each register: a constant is
// the register's value after the last MOVK that follows its MOVZ within
// pairWindow bytes.
func arm64Consts(code []byte) []constant {
	type reg struct {
		idx, last int // its constant, the offset of its last write
		live      bool
	}
	var regs [32]reg
	var cs []constant
	for i := 0; i+4 <= len(code) && len(cs) < maxConsts; i += 4 {
		ins := binary.LittleEndian.Uint32(code[i:])
		hw, imm, rd := ins>>21&3, uint64(ins>>5&0xffff), ins&31
		switch ins & 0xff800000 {
		case 0xd2800000, 0x52800000: // MOVZ x, w
			if ins&0x80000000 == 0 && hw > 1 {
				continue
			}
			regs[rd] = reg{idx: len(cs), last: i, live: true}
			cs = append(cs, constant{i, imm << (16 * hw)})
		case 0xf2800000, 0x72800000: // MOVK x, w
			r := &regs[rd]
			if !r.live || i-r.last > pairWindow || ins&0x80000000 == 0 && hw > 1 {
				continue
			}
			c := &cs[r.idx]
			c.val = c.val&^(0xffff<<(16*hw)) | imm<<(16*hw)
			r.last = i
		default:
			if ins&0xff800000 == 0x91000000 { // ADD x, x, #imm{, lsl 12}
				rn, r := ins>>5&31, &regs[rd]
				if rn == rd && r.live && i-r.last <= pairWindow {
					add := uint64(ins >> 10 & 0xfff)
					if ins&(1<<22) != 0 {
						add <<= 12
					}
					cs[r.idx].val += add
					r.last = i
				}
			}
		}
	}
	return slices.DeleteFunc(cs, func(c constant) bool { return !useful(c.val) })
}

// useful reports whether a constant can be either word of a small string.
func useful(v uint64) bool { return firstCount(v) > 0 || secondCount(v) > 0 }

// amd64Consts finds MOV r64, imm64 (REX.W B8+r), MOV r32, imm32 (B8+r),
// MOV r/m64 and r/m32, imm32 (C7 /0), and an ADD r64, imm8 or imm32 to
// the same register right after a MOVABS.
func amd64Consts(code []byte) []constant {
	var cs []constant
	for i := 0; i < len(code) && len(cs) < maxConsts; i++ {
		op := code[i]
		rex := byte(0)
		if op&0xf0 == 0x40 && i+1 < len(code) {
			rex, op = op, code[i+1]
		}
		at := i
		if rex != 0 {
			at++
		}
		switch {
		case op >= 0xb8 && op <= 0xbf && rex&0x08 != 0: // MOVABS
			if at+9 > len(code) {
				continue
			}
			v := binary.LittleEndian.Uint64(code[at+1:])
			if v = addAfter(code, at+9, rex, op-0xb8, v); useful(v) {
				cs = append(cs, constant{i, v})
				i = at + 8 // past the immediate, which may hold opcode bytes
			}
		case op >= 0xb8 && op <= 0xbf: // MOV r32, imm32 (zero-extended)
			if at+5 > len(code) {
				continue
			}
			if v := uint64(binary.LittleEndian.Uint32(code[at+1:])); useful(v) {
				cs = append(cs, constant{i, v})
				i = at + 4
			}
		case op == 0xc7 && at+2 <= len(code) && code[at+1]>>3&7 == 0: // MOV r/m, imm32
			n := modrmLen(code[at+1:])
			if n == 0 || at+1+n+4 > len(code) {
				continue
			}
			v := uint64(binary.LittleEndian.Uint32(code[at+1+n:]))
			if rex&0x08 != 0 && v&0x80000000 != 0 { // sign-extended to 64 bits
				v |= 0xffffffff00000000
			}
			if useful(v) {
				cs = append(cs, constant{i, v})
				i = at + n + 4
			}
		}
	}
	return cs
}

// addAfter applies an ADD of an immediate to register r (low three bits;
// rex its REX prefix) at p, if the instruction there is one.
func addAfter(code []byte, p int, rex, r byte, v uint64) uint64 {
	if p+3 > len(code) || code[p] != rex {
		return v
	}
	switch {
	case code[p+1] == 0x83 && code[p+2] == 0xc0|r && p+4 <= len(code): // ADD r64, imm8
		return v + uint64(int64(int8(code[p+3])))
	case code[p+1] == 0x81 && code[p+2] == 0xc0|r && p+7 <= len(code): // ADD r64, imm32
		return v + uint64(int64(int32(binary.LittleEndian.Uint32(code[p+3:]))))
	}
	return v
}

// modrmLen returns the length of a ModRM operand (ModRM, SIB,
// displacement), 0 when b is too short.
func modrmLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	mod, rm := b[0]>>6, b[0]&7
	n := 1
	if mod != 3 && rm == 4 { // SIB
		if len(b) < 2 {
			return 0
		}
		n++
		if mod == 0 && b[1]&7 == 5 {
			n += 4
		}
	}
	switch {
	case mod == 1:
		n++
	case mod == 2, mod == 0 && rm == 5:
		n += 4
	}
	if n > len(b) {
		return 0
	}
	return n
}
