package android

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Strings an app builds at run time from constants: a host and a port kept
// apart and joined by a StringBuilder append chain, String.concat or
// String.format. DexBuilt follows values through each method's bytecode, in
// one pass, in instruction order, with no control flow: const-string,
// const/4, const/16, const, const/high16, static and instance fields every
// store of which is one constant (sput then sget, iput then iget), move,
// new-instance, new-array and aput-object
// (String.format's arguments), and invokes of StringBuilder/StringBuffer
// <init>, append and toString, String.concat, String.valueOf,
// Integer.toString/valueOf and String.format, and getString(int) of any
// class (Context, Resources and their subclasses: an Activity calls its
// own), whose constant id DexBuiltWith's Resources resolves from the app's
// resource table. Any other instruction forgets
// the register it writes. A value past a branch may be one the method never
// holds: what DexBuilt gives is a candidate, reported with a lower
// confidence. Layout: source.android.com/docs/core/runtime/dex-format.

// Part is one piece a built string was made of: a constant string (Off is
// the file offset of its bytes in the string data), a constant number (Off
// is the file offset of the instruction that loads it) or a string
// resource read with getString(R.string.x) (Res is its id, Off the offset
// of the instruction that loads the id).
type Part struct {
	Text string
	Off  int
	Num  bool
	Res  uint32
}

// Resources resolves a string resource id to its value, for the
// getString(int) calls the flow follows; nil resolves none.
type Resources func(id uint32) (string, bool)

// Built is a string a method builds from constants.
type Built struct {
	Value  string
	Method string // Lcom/shop/Api;->connect
	Off    int    // file offset of the instruction that completes it
	Parts  []Part
}

// Caps on the data flow: a built value's length and parts, the registers
// followed, the static fields remembered, the strings built per file.
const (
	maxBuiltLen   = 512
	maxBuiltParts = 16
	maxRegisters  = 4096
	maxFields     = 1 << 16
	maxBuiltOut   = 1 << 16
)

// dexFile indexes the tables a data flow reads; every access is checked.
type dexFile struct {
	calls                                                   []uint8 // per method id: callOther, callInit... (0: not looked up yet)
	kinds                                                   []uint8 // per type id: typeOther, typeBuilder... (0: not looked up yet)
	fields                                                  []uint8 // per field id: 1 not a String, 2 a String (0: not looked up yet)
	shorties                                                []string
	slab                                                    []value // see alloc
	args                                                    []int   // flow's invoke arguments, reused
	regs                                                    regFile // the flow's registers
	consts                                                  []int   // staticConstants's registers
	res                                                     Resources
	b                                                       []byte
	strIDs, typeIDs, protoIDs, fieldIDs, methIDs, classDefs int // table offsets
	nStr, nType, nProto, nField, nMeth, nClass              int // and counts
}

func openDex(b []byte) (*dexFile, error) {
	if len(b) < dexHeaderSize || string(b[:4]) != "dex\n" {
		return nil, fmt.Errorf("dex: no dex header: %w", ErrFormat)
	}
	d := &dexFile{b: b}
	table := func(at, width int, off, n *int) error {
		c, o := int(le.Uint32(b[at:])), int(le.Uint32(b[at+4:]))
		if c == 0 {
			return nil
		}
		if o < dexHeaderSize || o > len(b) || c > (len(b)-o)/width {
			return fmt.Errorf("dex: table at header %#x (%d × %d bytes at %d) does not fit %d bytes: %w", at, c, width, o, len(b), ErrFormat)
		}
		*off, *n = o, c
		return nil
	}
	for _, t := range []struct {
		at, width int
		off, n    *int
	}{{56, 4, &d.strIDs, &d.nStr}, {64, 4, &d.typeIDs, &d.nType}, {72, 12, &d.protoIDs, &d.nProto},
		{80, 8, &d.fieldIDs, &d.nField}, {88, 8, &d.methIDs, &d.nMeth}, {96, 32, &d.classDefs, &d.nClass}} {
		if err := table(t.at, t.width, t.off, t.n); err != nil {
			return nil, err
		}
	}
	d.calls, d.kinds, d.shorties, d.fields = make([]uint8, d.nMeth), make([]uint8, d.nType), make([]string, d.nMeth), make([]uint8, d.nField)
	return d, nil
}

// Calls the flow follows, by method id (dexFile.call).
const (
	callOther uint8 = iota + 1
	callInit
	callAppend
	callToString
	callConcat
	callValueOf
	callFormat
	callGetString
)

// call classifies method i once, and returns its shorty.
func (d *dexFile) call(i int) (uint8, string) {
	if i < 0 || i >= d.nMeth {
		return callOther, ""
	}
	if d.calls[i] == 0 {
		// Most calls are to other classes: their class is known by its
		// type's kind, looked up once per type, and their names are never
		// decoded.
		m := d.b[d.methIDs+8*i:]
		if d.kind(int(le.Uint16(m))) == typeOther {
			d.calls[i] = callOther
			if d.res != nil && d.strIs(int(le.Uint32(m[4:])), "getString") {
				if _, _, shorty := d.method(i); shorty == "LI" {
					d.calls[i], d.shorties[i] = callGetString, shorty
				}
			}
			return d.calls[i], d.shorties[i]
		}
		class, name, shorty := d.method(i)
		k := callOther
		switch class + "." + name {
		case "Ljava/lang/StringBuilder;.<init>", "Ljava/lang/StringBuffer;.<init>":
			k = callInit
		case "Ljava/lang/StringBuilder;.append", "Ljava/lang/StringBuffer;.append":
			k = callAppend
		case "Ljava/lang/StringBuilder;.toString", "Ljava/lang/StringBuffer;.toString":
			k = callToString
		case "Ljava/lang/String;.concat":
			k = callConcat
		case "Ljava/lang/String;.valueOf", "Ljava/lang/Integer;.toString", "Ljava/lang/Integer;.valueOf":
			k = callValueOf
		case "Ljava/lang/String;.format":
			k = callFormat
		}
		d.calls[i], d.shorties[i] = k, shorty
	}
	return d.calls[i], d.shorties[i]
}

// Kinds of type the flow tells apart (dexFile.kind).
const (
	typeOther   uint8 = iota + 1
	typeBuilder       // StringBuilder or StringBuffer
	typeString
	typeInteger
)

// kind is type i's kind, looked up once per type.
func (d *dexFile) kind(i int) uint8 {
	if i < 0 || i >= d.nType {
		return typeOther
	}
	if d.kinds[i] == 0 {
		k, s := typeOther, d.typeString(i)
		switch {
		case d.strIs(s, "Ljava/lang/StringBuilder;"), d.strIs(s, "Ljava/lang/StringBuffer;"):
			k = typeBuilder
		case d.strIs(s, "Ljava/lang/String;"):
			k = typeString
		case d.strIs(s, "Ljava/lang/Integer;"):
			k = typeInteger
		}
		d.kinds[i] = k
	}
	return d.kinds[i]
}

// strIs reports whether string i is want, an ASCII text: its length, in
// the string's header, is compared first, and the bytes only when it
// matches, without looking for the string's end.
func (d *dexFile) strIs(i int, want string) bool {
	if i < 0 || i >= d.nStr {
		return false
	}
	n, at, ok := uleb128(&dexWindow{buf: d.b, size: len(d.b), whole: true}, int(le.Uint32(d.b[d.strIDs+4*i:])))
	return ok && n == len(want) && at+len(want) < len(d.b) && string(d.b[at:at+len(want)]) == want && d.b[at+len(want)] == 0
}

// stringField reports whether field i is of type String, once per field.
func (d *dexFile) stringField(i int) bool {
	if i < 0 || i >= d.nField {
		return false
	}
	if d.fields[i] == 0 {
		d.fields[i] = 1
		if d.kind(int(le.Uint16(d.b[d.fieldIDs+8*i+2:]))) == typeString {
			d.fields[i] = 2
		}
	}
	return d.fields[i] == 2
}

// isBuilder reports whether type i is StringBuilder or StringBuffer.
func (d *dexFile) isBuilder(i int) bool { return d.kind(i) == typeBuilder }

// str returns string i and the offset of its bytes; ok is false for an
// index or offset out of bounds.
func (d *dexFile) str(i int) (string, int, bool) {
	if i < 0 || i >= d.nStr {
		return "", 0, false
	}
	at := int(le.Uint32(d.b[d.strIDs+4*i:]))
	w := &dexWindow{buf: d.b, size: len(d.b), whole: true}
	_, n, ok := uleb128(w, at)
	if !ok {
		return "", 0, false
	}
	end := n
	for end < len(d.b) && d.b[end] != 0 && end-n < maxBuiltLen*4 {
		end++
	}
	return mutf8(d.b[n:end]), n, true
}

// typeString is the string id of type i's descriptor, -1 if out of range.
func (d *dexFile) typeString(i int) int {
	if i < 0 || i >= d.nType {
		return -1
	}
	return int(le.Uint32(d.b[d.typeIDs+4*i:]))
}

func (d *dexFile) typeName(i int) string {
	if i < 0 || i >= d.nType {
		return ""
	}
	s, _, _ := d.str(int(le.Uint32(d.b[d.typeIDs+4*i:])))
	return s
}

// method returns a method's class, name and shorty (return and parameter
// types, one letter each).
func (d *dexFile) method(i int) (class, name, shorty string) {
	if i < 0 || i >= d.nMeth {
		return "", "", ""
	}
	m := d.b[d.methIDs+8*i:]
	class = d.typeName(int(le.Uint16(m)))
	name, _, _ = d.str(int(le.Uint32(m[4:])))
	if p := int(le.Uint16(m[2:])); p < d.nProto {
		shorty, _, _ = d.str(int(le.Uint32(d.b[d.protoIDs+12*p:])))
	}
	return class, name, shorty
}

// uleb reads a ULEB128 at *at, advancing it; ok is false past the file.
func (d *dexFile) uleb(at *int) (int, bool) {
	v, n, ok := uleb128(&dexWindow{buf: d.b, size: len(d.b), whole: true}, *at)
	*at = n
	return v, ok
}

// code is one method's bytecode.
type code struct {
	method int
	regs   int
	insns  int // file offset of the first code unit
	n      int // code units
}

// codes calls fn with every method that has code, class by class.
func (d *dexFile) codes(fn func(c code) bool) error {
	for ci := range d.nClass {
		dataOff := int(le.Uint32(d.b[d.classDefs+32*ci+24:]))
		if dataOff == 0 {
			continue
		}
		if dataOff < dexHeaderSize || dataOff >= len(d.b) {
			return fmt.Errorf("dex: class %d data at %d: %w", ci, dataOff, ErrFormat)
		}
		at := dataOff
		var sizes [4]int
		for k := range sizes {
			v, ok := d.uleb(&at)
			if !ok || v > len(d.b) {
				return fmt.Errorf("dex: class %d data: %w", ci, ErrFormat)
			}
			sizes[k] = v
		}
		for range sizes[0] + sizes[1] { // fields: index diff, access flags
			_, ok1 := d.uleb(&at)
			_, ok2 := d.uleb(&at)
			if !ok1 || !ok2 {
				return fmt.Errorf("dex: class %d fields: %w", ci, ErrFormat)
			}
		}
		for list := range 2 {
			idx := 0
			for range sizes[2+list] {
				diff, ok1 := d.uleb(&at)
				_, ok2 := d.uleb(&at)
				off, ok3 := d.uleb(&at)
				if !ok1 || !ok2 || !ok3 {
					return fmt.Errorf("dex: class %d methods: %w", ci, ErrFormat)
				}
				idx += diff
				if off == 0 {
					continue
				}
				if off < dexHeaderSize || off > len(d.b)-16 {
					return fmt.Errorf("dex: code item at %d: %w", off, ErrFormat)
				}
				n := int(le.Uint32(d.b[off+12:]))
				if n > (len(d.b)-off-16)/2 {
					return fmt.Errorf("dex: code item at %d: %d units: %w", off, n, ErrFormat)
				}
				if !fn(code{method: idx, regs: int(le.Uint16(d.b[off:])), insns: off + 16, n: n}) {
					return nil
				}
			}
		}
	}
	return nil
}

// width returns the length in code units of the instruction at unit pc,
// payloads included; 0 when it runs past the code.
func (d *dexFile) width(c code, pc int) int {
	u := le.Uint16(d.b[c.insns+2*pc:])
	w := widths[u&0xff]
	if u&0xff == 0 {
		switch u { // payloads of switch and fill-array-data
		case 0x0100:
			if pc+1 < c.n {
				w = 4 + 2*int(d.unit(c, pc+1))
			}
		case 0x0200:
			if pc+1 < c.n {
				w = 2 + 4*int(d.unit(c, pc+1))
			}
		case 0x0300:
			if pc+3 < c.n {
				ew, n := int(d.unit(c, pc+1)), int(d.unit(c, pc+2))|int(d.unit(c, pc+3))<<16
				w = 4 + (ew*n+1)/2
			}
		}
	}
	if w <= 0 || pc+w > c.n {
		return 0
	}
	return w
}

func (d *dexFile) unit(c code, pc int) uint16 { return le.Uint16(d.b[c.insns+2*pc:]) }

// next is the first code unit of the instruction at pc and its width as
// width gives it, reading the unit once: the walks' step. Most opcodes'
// width is the table's; width itself is called for payloads and at the
// end of the code.
func (d *dexFile) next(c code, pc int) (u uint16, w int) {
	u = le.Uint16(d.b[c.insns+2*pc:])
	if w = widths[u&0xff]; u&0xff == 0 || pc+w > c.n {
		return u, d.width(c, pc)
	}
	return u, w
}

// widths is each opcode's length in code units (dex instruction formats).
var widths = func() [256]int {
	var w [256]int
	set := func(from, to, n int) {
		for i := from; i <= to; i++ {
			w[i] = n
		}
	}
	set(0x00, 0xff, 1)
	for _, r := range [][3]int{{0x02, 0x02, 2}, {0x03, 0x03, 3}, {0x05, 0x05, 2}, {0x06, 0x06, 3}, {0x08, 0x08, 2}, {0x09, 0x09, 3},
		{0x13, 0x13, 2}, {0x14, 0x14, 3}, {0x15, 0x16, 2}, {0x17, 0x17, 3}, {0x18, 0x18, 5}, {0x19, 0x1a, 2}, {0x1b, 0x1b, 3},
		{0x1c, 0x1c, 2}, {0x1f, 0x20, 2}, {0x22, 0x23, 2}, {0x24, 0x26, 3}, {0x29, 0x29, 2}, {0x2a, 0x2c, 3}, {0x2d, 0x3d, 2},
		{0x44, 0x6d, 2}, {0x6e, 0x72, 3}, {0x74, 0x78, 3}, {0x90, 0xaf, 2}, {0xd0, 0xe2, 2}, {0xfa, 0xfb, 4}, {0xfc, 0xfd, 3}, {0xfe, 0xff, 2}} {
		set(r[0], r[1], r[2])
	}
	return w
}()

// value is what a register holds, as far as the flow knows.
type value struct {
	kind  byte // 's' string, 'n' number, 'b' builder, 'a' array
	str   int  // for a constant string not yet read: its index + 1
	num   bool // for a constant number not yet written out: n, loaded at at
	n     int64
	at    int
	text  string
	parts []Part
	built bool     // made by an operation, not loaded
	sb    *builder // for 'b'
	arr   []*value // for 'a'
}

type builder struct {
	text  string
	parts []Part
	bad   bool // an unknown piece went in
}

func (b *builder) add(d *dexFile, v *value) {
	if !d.read(v) {
		b.bad = true
		return
	}
	if v == nil || (v.kind != 's' && v.kind != 'n') || len(b.text)+len(v.text) > maxBuiltLen || len(b.parts)+len(v.parts) > maxBuiltParts {
		b.bad = true
		return
	}
	b.text += v.text
	b.parts = append(b.parts, v.parts...)
}

// DexBuilt calls yield with each string built from two or more constants
// in a dex file's methods; yield returns false to stop.
func DexBuilt(b []byte, yield func(Built) bool) error {
	return DexBuiltWith(b, nil, yield)
}

// DexBuiltWith is DexBuilt with the app's string resources: a string read
// with getString(R.string.x) is a constant too.
func DexBuiltWith(b []byte, res Resources, yield func(Built) bool) error {
	d, err := openDex(b)
	if err != nil {
		return err
	}
	d.res = res
	// One walk over the code sorts the methods: those that store a static
	// field, those that store an instance field, those that complete a
	// built string; most do none of these.
	var storers, instance, builders []code
	err = d.codes(func(c code) bool {
		if c.regs <= maxRegisters {
			st, ist, bu := d.scanMethod(c)
			switch {
			case st:
				storers = append(storers, c)
			case ist:
				instance = append(instance, c)
			}
			if bu {
				builders = append(builders, c)
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	// An instance field is followed where its own class builds strings:
	// this.host set by the constructor, read by this.url(). Walking every
	// constructor of the app cost the flow a fifth more time on the real
	// APKs (BENCHMARKS.md); those of the classes that build are few.
	building := map[int]bool{}
	for _, c := range builders {
		building[d.classOf(c.method)] = true
	}
	for _, c := range instance {
		if building[d.classOf(c.method)] {
			storers = append(storers, c)
		}
	}
	fields := d.staticConstants(storers)
	out := 0
	// The registers live on the heap, through d: 32 KiB in this frame
	// would have the goroutine grow its stack, and copy it, twice more.
	d.regs = make(regFile, maxRegisters)
	regs := d.regs
	// The fields' values stay in the slabs staticConstants filled; the
	// flow's own are dead once their method is done (its registers are
	// cleared, and what it built was copied out), so one slab serves
	// method after method: a fresh process faulted in a new page for about
	// every 35 constants the flow loaded (0.2 MB APK: 30 faults a run).
	d.slab = nil
	for _, c := range builders {
		d.slab = d.slab[:0]
		r := regs[:c.regs]
		clear(r)
		if !d.flow(c, r, fields, func(bt Built) bool {
			out++
			return out <= maxBuiltOut && yield(bt)
		}) {
			break
		}
	}
	return nil
}

// scanMethod reports whether a method stores a static field (sput,
// sput-object), whether it stores an instance field (iput, or iput-object
// of a String), and whether it calls toString, concat or format, one of
// the calls that complete a built string.
func (d *dexFile) scanMethod(c code) (stores, instance, builds bool) {
	for pc := 0; pc < c.n; {
		u, w := d.next(c, pc)
		if w == 0 {
			break
		}
		switch op := u & 0xff; {
		case op == 0x67 || op == 0x69:
			stores = true
		case op == 0x59 || op == 0x5b && d.stringField(int(d.unit(c, pc+1))):
			// An object field is followed only when it holds a String: the
			// rest (listeners, views, clients) are most of what
			// constructors store.
			instance = true
		case !builds && (op >= 0x6e && op <= 0x72 || op >= 0x74 && op <= 0x78):
			if k, _ := d.call(int(d.unit(c, pc+1))); k == callToString || k == callConcat || k == callFormat {
				builds = true
			}
		}
		pc += w
	}
	return stores, instance, builds
}

// classOf is the type id of method i's class, -1 when out of range.
func (d *dexFile) classOf(i int) int {
	if i < 0 || i >= d.nMeth {
		return -1
	}
	return int(le.Uint16(d.b[d.methIDs+8*i:]))
}

// staticConstants finds the fields every store of which (sput, or iput
// on whatever object) stores the same constant: such a field is a
// constant wherever it is read. An instance field set so in a constructor
// (this.host = "cache.northwind.com") reads the same in every object, as
// far as a flow without branches can tell.
func (d *dexFile) staticConstants(methods []code) map[int]*value {
	vals, bad := map[int]*value{}, map[int]bool{}
	// A register holds the unit index + 1 of the const instruction that
	// loaded it: a value is made only for the constants a sput stores.
	d.consts = make([]int, maxRegisters) // on the heap, as DexBuiltWith's registers
	buf := d.consts
	for _, c := range methods {
		regs := buf[:c.regs]
		clear(regs)
		set := func(r, v int) {
			if r >= 0 && r < len(regs) {
				regs[r] = v
			}
		}
		for pc := 0; pc < c.n; {
			u, w := d.next(c, pc)
			if w == 0 {
				break
			}
			switch op := u & 0xff; op {
			case 0x1a, 0x1b, 0x12, 0x13, 0x14, 0x15:
				set(dest(u), pc+1)
			case 0x67, 0x69, 0x59, 0x5b: // sput, sput-object vAA; iput, iput-object vA, vB (the object)
				f := int(d.unit(c, pc+1))
				r := int(u >> 8)
				if op == 0x59 || op == 0x5b {
					r &= 0xf
				}
				if bad[f] || op == 0x5b && !d.stringField(f) {
					break
				}
				var v *value
				if r < len(regs) && regs[r] > 0 {
					v = d.constant(c, regs[r]-1)
				}
				switch {
				case v == nil || len(vals) >= maxFields:
					bad[f] = true
					delete(vals, f)
				case vals[f] != nil && (vals[f].str != v.str || vals[f].n != v.n || vals[f].text != v.text):
					bad[f] = true
					delete(vals, f)
				default:
					vals[f] = v
				}
			default:
				if !writesNothing(op) {
					a4, a8 := int(u>>8)&0xf, int(u>>8)
					set(a4, 0)
					set(a4+1, 0)
					set(a8, 0)
					set(a8+1, 0)
				}
			}
			pc += w
		}
	}
	return vals
}

// writesNothing reports an opcode that writes no register: returns,
// monitors, check-cast, fill-array-data, throw, branches, the put family,
// invokes (their result is taken by move-result) and nop.
func writesNothing(op uint16) bool {
	return op == 0x00 || op >= 0x0e && op <= 0x11 || op == 0x1d || op == 0x1e || op == 0x1f || op == 0x26 || op == 0x27 ||
		op >= 0x28 && op <= 0x2c || op >= 0x32 && op <= 0x3d || op >= 0x4b && op <= 0x51 || op >= 0x59 && op <= 0x5f ||
		op >= 0x67 && op <= 0x6d || op >= 0x6e && op <= 0x72 || op >= 0x74 && op <= 0x78 || op >= 0xfa && op <= 0xfd
}

// forget drops what an instruction the flow does not follow may write:
// vA (and vA+1 for a wide value) of a 12x or 22x-style format, vAA (and
// vAA+1) of the others.
func forget(regs regFile, u uint16) {
	a4, a8 := int(u>>8)&0xf, int(u>>8)
	regs.set(a4, nil)
	regs.set(a4+1, nil)
	regs.set(a8, nil)
	regs.set(a8+1, nil)
}

// dest is the destination register of a const or move-result (vAA, or
// vA for const/4).
func dest(u uint16) int {
	if u&0xff == 0x12 {
		return int(u>>8) & 0xf
	}
	return int(u >> 8)
}

// constant is the value a const instruction at pc loads, nil for one out
// of bounds.
func (d *dexFile) constant(c code, pc int) *value {
	u := d.unit(c, pc)
	at := c.insns + 2*pc
	num := func(n int64) *value { return d.alloc(value{kind: 'n', num: true, n: n, at: at}) }
	switch u & 0xff {
	case 0x1a, 0x1b:
		i := int(d.unit(c, pc+1))
		if u&0xff == 0x1b {
			i |= int(d.unit(c, pc+2)) << 16
		}
		if i < 0 || i >= d.nStr {
			return nil
		}
		return d.alloc(value{kind: 's', str: i + 1})
	case 0x12:
		return num(int64(int16(u) >> 12))
	case 0x13:
		return num(int64(int16(d.unit(c, pc+1))))
	case 0x14:
		return num(int64(int32(uint32(d.unit(c, pc+1)) | uint32(d.unit(c, pc+2))<<16)))
	case 0x15:
		return num(int64(int32(uint32(d.unit(c, pc+1)) << 16)))
	}
	return nil
}

// read fills in a constant string's text the first time it is used;
// false for one that cannot be read. Strings are read lazily: most
// constants a method loads are never joined to anything.
func (d *dexFile) read(v *value) bool {
	if v != nil && v.num {
		v.text = strconv.FormatInt(v.n, 10)
		v.parts, v.num = []Part{{Text: v.text, Off: v.at, Num: true}}, false
		return true
	}
	if v == nil || v.str == 0 {
		return true
	}
	s, off, ok := d.str(v.str - 1)
	if !ok || len(s) > maxBuiltLen {
		return false
	}
	v.text, v.parts, v.str = s, []Part{{Text: s, Off: off}}, 0
	return true
}

// alloc places a value in the file's slab: one allocation per 128
// values, where a method's constants would each cost one.
func (d *dexFile) alloc(v value) *value {
	if len(d.slab) == cap(d.slab) {
		d.slab = make([]value, 0, 128)
	}
	d.slab = append(d.slab, v)
	return &d.slab[len(d.slab)-1]
}

// intOf is a number value's integer.
func (d *dexFile) intOf(v *value) (int, bool) {
	if v == nil || v.kind != 'n' {
		return 0, false
	}
	if v.num {
		return int(v.n), v.n >= -1<<31 && v.n < 1<<31
	}
	k, err := strconv.Atoi(v.text)
	return k, err == nil
}

// regFile is a method's registers; an index out of range reads nil and
// writes nothing.
type regFile []*value

func (r regFile) get(i int) *value {
	if i < 0 || i >= len(r) {
		return nil
	}
	return r[i]
}

func (r regFile) set(i int, v *value) {
	if i >= 0 && i < len(r) {
		r[i] = v
	}
}

// flow follows one method's registers and yields what it builds.
func (d *dexFile) flow(c code, regs regFile, fields map[int]*value, yield func(Built) bool) bool {
	var result *value // what the last invoke returned
	var name string
	for pc := 0; pc < c.n; {
		u, w := d.next(c, pc)
		if w == 0 {
			return true
		}
		op := u & 0xff
		a4, b4, a8 := int(u>>8)&0xf, int(u>>12), int(u>>8)
		res := result
		result = nil
		switch {
		case op == 0x1a || op == 0x1b || op >= 0x12 && op <= 0x15:
			regs.set(dest(u), d.constant(c, pc))
		case op == 0x01 || op == 0x07: // move, move-object vA, vB
			regs.set(a4, regs.get(b4))
		case op == 0x02 || op == 0x08: // move/from16 vAA, vBBBB
			regs.set(a8, regs.get(int(d.unit(c, pc+1))))
		case op == 0x0a || op == 0x0c: // move-result, move-result-object
			regs.set(a8, res)
		case op == 0x22: // new-instance
			regs.set(a8, nil)
			if d.isBuilder(int(d.unit(c, pc+1))) {
				regs.set(a8, &value{kind: 'b', sb: &builder{}})
			}
		case op == 0x23: // new-array vA, vB (size)
			n := regs.get(b4)
			regs.set(a4, nil)
			if k, ok := d.intOf(n); ok {
				if k >= 0 && k <= maxBuiltParts {
					regs.set(a4, &value{kind: 'a', arr: make([]*value, k)})
				}
			}
		case op == 0x4d: // aput-object vAA, vBB (array), vCC (index)
			arr, idx := regs.get(int(d.unit(c, pc+1))&0xff), regs.get(int(d.unit(c, pc+1)>>8))
			if arr != nil && arr.kind == 'a' {
				if k, ok := d.intOf(idx); ok && k >= 0 && k < len(arr.arr) {
					arr.arr[k] = regs.get(a8)
				}
			}
		case op == 0x60 || op == 0x62: // sget, sget-object
			regs.set(a8, fields[int(d.unit(c, pc+1))])
		case op == 0x52 || op == 0x54: // iget, iget-object vA, vB (the object)
			regs.set(a4, fields[int(d.unit(c, pc+1))])
		case op >= 0x6e && op <= 0x72 || op >= 0x74 && op <= 0x78:
			args := d.args[:0] // reused: invoke keeps none of it
			if op <= 0x72 {
				x := d.unit(c, pc+2)
				args = append(args, int(x)&0xf, int(x>>4)&0xf, int(x>>8)&0xf, int(x>>12)&0xf, a4)
				args = args[:min(b4, 5)]
			} else {
				for r := range a8 {
					args = append(args, int(d.unit(c, pc+2))+r)
				}
			}
			d.args = args
			var b *Built
			result, b = d.invoke(c, pc, regs, args)
			if b != nil {
				if name == "" {
					cl, n, _ := d.method(c.method)
					name = cl + "->" + n
				}
				b.Method, b.Off = name, c.insns+2*pc
				if !yield(*b) {
					return false
				}
			}
		case op == 0x03 || op == 0x09: // move/16, move-object/16 vAAAA, vBBBB
			regs.set(int(d.unit(c, pc+1)), regs.get(int(d.unit(c, pc+2))))
		case writesNothing(op):
		default:
			forget(regs, u)
		}
		pc += w
	}
	return true
}

// invoke applies a call the flow knows to the registers: it returns the
// call's result, and the built string when the call completes one.
func (d *dexFile) invoke(c code, pc int, regs regFile, args []int) (*value, *Built) {
	kind, shorty := d.call(int(d.unit(c, pc+1)))
	arg := func(i int) *value {
		if i < len(args) {
			return regs.get(args[i])
		}
		return nil
	}
	switch kind {
	case callInit:
		sb := &builder{}
		switch shorty {
		case "V", "VI": // empty, or with a capacity
		case "VL": // from a String or CharSequence
			sb.add(d, arg(1))
		default:
			sb.bad = true
		}
		if len(args) > 0 {
			if v := regs.get(args[0]); v != nil && v.kind == 'b' {
				*v.sb = *sb
			} else {
				regs.set(args[0], &value{kind: 'b', sb: sb})
			}
		}
		return nil, nil
	case callAppend:
		v := arg(0)
		if v == nil || v.kind != 'b' {
			return nil, nil
		}
		p := arg(1)
		if len(shorty) == 2 && shorty[1] == 'C' && d.read(p) && p != nil && p.kind == 'n' && len(p.parts) == 1 {
			if r, err := strconv.Atoi(p.text); err == nil && r > 0 && r < 0x80 {
				pt := p.parts[0]
				pt.Text = string(rune(r))
				p = &value{kind: 's', text: pt.Text, parts: []Part{pt}}
			}
		}
		if len(shorty) != 2 || shorty[1] != 'L' && shorty[1] != 'I' && shorty[1] != 'C' {
			p = nil // long, float, double, boolean: not followed
		}
		v.sb.add(d, p)
		return v, nil
	case callToString:
		v := arg(0)
		if v == nil || v.kind != 'b' || v.sb.bad {
			return nil, nil
		}
		return built(v.sb.text, slices.Clone(v.sb.parts))
	case callConcat:
		x, y := arg(0), arg(1)
		if !d.read(x) || !d.read(y) || x == nil || y == nil || x.kind != 's' || y.kind != 's' || len(x.text)+len(y.text) > maxBuiltLen {
			return nil, nil
		}
		return built(x.text+y.text, append(append([]Part{}, x.parts...), y.parts...))
	case callValueOf:
		if v := arg(0); d.read(v) && v != nil && len(args) == 1 && (v.kind == 'n' || v.kind == 's') {
			return &value{kind: v.kind, text: v.text, parts: v.parts}, nil
		}
	case callGetString:
		id := arg(1)
		if len(args) != 2 || id == nil || !id.num || id.n < 0 || id.n > 0xffffffff {
			return nil, nil
		}
		str, ok := d.res(uint32(id.n))
		if !ok || len(str) > maxBuiltLen {
			return nil, nil
		}
		return &value{kind: 's', text: str, parts: []Part{{Text: str, Off: id.at, Res: uint32(id.n)}}}, nil
	case callFormat:
		f, list := arg(0), arg(1)
		if shorty == "LLLL" { // format(Locale, String, Object[])
			f, list = arg(1), arg(2)
		}
		if f == nil || f.kind != 's' || list == nil || list.kind != 'a' {
			return nil, nil
		}
		for _, a := range list.arr {
			if !d.read(a) {
				return nil, nil
			}
		}
		if !d.read(f) {
			return nil, nil
		}
		return format(f, list.arr)
	}
	return nil, nil
}

// built is a result string made of parts: one worth reporting when it
// joined two or more.
func built(s string, parts []Part) (*value, *Built) {
	v := &value{kind: 's', text: s, parts: parts, built: true}
	if len(parts) < 2 {
		return v, nil
	}
	return v, &Built{Value: s, Parts: parts}
}

// format fills %s, %d and %% of a format string with known arguments.
func format(f *value, args []*value) (*value, *Built) {
	var sb strings.Builder
	parts := append([]Part{}, f.parts...)
	next := 0
	for i := 0; i < len(f.text); i++ {
		ch := f.text[i]
		if ch != '%' || i+1 >= len(f.text) {
			sb.WriteByte(ch)
			continue
		}
		i++
		switch f.text[i] {
		case '%':
			sb.WriteByte('%')
		case 's', 'd':
			if next >= len(args) || args[next] == nil || args[next].kind != 's' && args[next].kind != 'n' {
				return nil, nil
			}
			sb.WriteString(args[next].text)
			parts = append(parts, args[next].parts...)
			next++
		default:
			return nil, nil
		}
		if sb.Len() > maxBuiltLen || len(parts) > maxBuiltParts {
			return nil, nil
		}
	}
	return built(sb.String(), parts)
}
