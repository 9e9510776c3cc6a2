package ios

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"fmt"
	"strings"
)

// Section is a Mach-O section worth scanning for strings.
type Section struct {
	Name  string // "__TEXT,__cstring"; "arm64:" is prefixed in a fat file
	Off   int64  // offset of Data in the file
	Data  []byte // shares the caller's buffer
	UTF16 bool   // __ustring holds UTF-16LE strings
}

// Binary is what a Mach-O file yields.
type Binary struct {
	Sections []Section
	// Encrypted is set when any architecture has LC_ENCRYPTION_INFO(_64)
	// with a non-zero cryptid: FairPlay hides its text, so strings found
	// elsewhere in the app are all that can be known.
	Encrypted bool
	// Code lists each architecture's __TEXT,__text, where Swift's small
	// string literals are immediates (see SmallStrings).
	Code []Code
	// Snapshots lists the data a defined symbol named _kDart...SnapshotData
	// marks (a Flutter App.framework's Dart AOT snapshot images), for a
	// reader of Dart snapshots: from the symbol to the next symbol of its
	// section or the section's end.
	Snapshots []Snapshot
}

// Snapshot is the data of one _kDart...SnapshotData symbol.
type Snapshot struct {
	Symbol   string // without Mach-O's leading underscore
	Off, End int64  // file offsets
}

// Code is the machine code of one architecture.
type Code struct {
	Arch string // ArchARM64, ArchAMD64
	Name string // "arm64:__TEXT,__text" in a fat file
	Off  int64  // offset of Data in the file
	Data []byte // shares the caller's buffer
}

// stringSections are the sections that hold string literals: C strings
// (which CFString constants in __cfstring point into), UTF-16 strings, and
// the read-only data where Swift and Go keep theirs. __cfstring itself holds
// only pointers, so it is not read.
var stringSections = map[string]bool{"__cstring": true, "__ustring": true, "__rodata": true, "__const": true, "__oslogstring": true}

// Load command numbers debug/macho does not name.
const (
	lcEncryptionInfo   = 0x21
	lcEncryptionInfo64 = 0x2c
)

// ReadMachO reads a thin or fat Mach-O from memory. Sections that claim to
// lie outside the file are skipped, not read.
func ReadMachO(b []byte) (bin *Binary, err error) {
	defer func() { // debug/macho is fuzzed upstream; this is a last line for one bad app
		if r := recover(); r != nil {
			bin, err = nil, fmt.Errorf("mach-o: reader panic: %v", r)
		}
	}()
	bin = &Binary{}
	if ff, ferr := macho.NewFatFile(bytes.NewReader(b)); ferr == nil {
		defer ff.Close()
		for _, a := range ff.Arches {
			bin.add(a.File, b, int64(a.Offset), a.Cpu.String()+":")
			bin.code(a.File, b, int64(a.Offset), a.Cpu.String()+":")
			bin.snapshots(a.File, b, int64(a.Offset))
		}
		return bin, nil
	}
	f, err := macho.NewFile(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("mach-o: %w", err)
	}
	defer f.Close()
	bin.add(f, b, 0, "")
	bin.code(f, b, 0, "")
	bin.snapshots(f, b, 0)
	return bin, nil
}

// add collects an architecture's string sections. Section headers may all
// point at the same bytes; the total kept is capped at twice the file, so a
// crafted binary cannot multiply the scanning work.
func (bin *Binary) add(f *macho.File, b []byte, base int64, prefix string) {
	budget := 2 * int64(len(b))
	for _, s := range bin.Sections {
		budget -= int64(len(s.Data))
	}
	for _, l := range f.Loads {
		raw := l.Raw()
		if len(raw) < 20 {
			continue
		}
		cmd := f.ByteOrder.Uint32(raw)
		if (cmd == lcEncryptionInfo || cmd == lcEncryptionInfo64) && cryptID(raw, f.ByteOrder) != 0 {
			bin.Encrypted = true
		}
	}
	for _, s := range f.Sections {
		if !stringSections[s.Name] || s.Seg != "__TEXT" && s.Name != "__cstring" {
			continue
		}
		start, size := base+int64(s.Offset), int64(s.Size)
		if s.Offset == 0 || size <= 0 || start < 0 || start > int64(len(b)) || size > int64(len(b))-start || size > budget {
			continue
		}
		budget -= size
		bin.Sections = append(bin.Sections, Section{Name: prefix + s.Seg + "," + s.Name, Off: start,
			Data: b[start : start+size], UTF16: s.Name == "__ustring"})
	}
}

// cryptID reads the cryptid of an encryption_info_command: cmd, cmdsize,
// cryptoff, cryptsize, cryptid.
func cryptID(raw []byte, order binary.ByteOrder) uint32 {
	if len(raw) < 20 {
		return 0
	}
	return order.Uint32(raw[16:])
}

// code adds an architecture's __TEXT,__text when it is arm64 or x86_64
// and lies in the file; all the code kept is capped at the file's size.
func (bin *Binary) code(f *macho.File, b []byte, base int64, prefix string) {
	arch := map[macho.Cpu]string{macho.CpuArm64: ArchARM64, macho.CpuAmd64: ArchAMD64}[f.Cpu]
	if arch == "" {
		return
	}
	budget := int64(len(b))
	for _, c := range bin.Code {
		budget -= int64(len(c.Data))
	}
	s := f.Section("__text")
	if s == nil || s.Seg != "__TEXT" {
		return
	}
	start, size := base+int64(s.Offset), int64(s.Size)
	if s.Offset == 0 || size <= 0 || start < 0 || start > int64(len(b)) || size > int64(len(b))-start || size > budget {
		return
	}
	bin.Code = append(bin.Code, Code{Arch: arch, Name: prefix + "__TEXT,__text", Off: start, Data: b[start : start+size]})
}

// maxSnapshots caps the snapshot symbols kept from one file.
const maxSnapshots = 16

// snapshots adds the data of an architecture's defined _kDart*SnapshotData
// symbols that lie in the file.
func (bin *Binary) snapshots(f *macho.File, b []byte, base int64) {
	if f.Symtab == nil {
		return
	}
	for _, sym := range f.Symtab.Syms {
		name := strings.TrimPrefix(sym.Name, "_")
		if len(bin.Snapshots) >= maxSnapshots || !strings.HasPrefix(name, "kDart") || !strings.HasSuffix(name, "SnapshotData") ||
			sym.Type&0x0e != 0x0e || sym.Sect == 0 || int(sym.Sect) > len(f.Sections) { // N_SECT, in a section
			continue
		}
		sec := f.Sections[sym.Sect-1]
		if sym.Value < sec.Addr || sym.Value >= sec.Addr+sec.Size || sec.Offset == 0 {
			continue
		}
		end := sec.Addr + sec.Size
		for _, o := range f.Symtab.Syms { // the next symbol of the section ends it
			if o.Sect == sym.Sect && o.Value > sym.Value && o.Value < end {
				end = o.Value
			}
		}
		off := base + int64(sec.Offset) + int64(sym.Value-sec.Addr)
		stop := off + int64(end-sym.Value)
		if off < 0 || stop > int64(len(b)) || off >= stop {
			continue
		}
		bin.Snapshots = append(bin.Snapshots, Snapshot{Symbol: name, Off: off, End: stop})
	}
}
