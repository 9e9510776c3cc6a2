package extract

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/dart"
	"github.com/gownscan/gown/extract/ios"
)

// infoPlist finds the main bundle's Info.plist: Payload/X.app/Info.plist,
// not a framework's or a plug-in's, which lie deeper.
func infoPlist(files []*zip.File) string {
	for _, f := range files {
		parts := strings.Split(f.Name, "/")
		if len(parts) == 3 && parts[0] == "Payload" && strings.HasSuffix(parts[1], ".app") && parts[2] == "Info.plist" {
			return f.Name
		}
	}
	return ""
}

// infoPlist reads the app's identity and its ATS
// settings, and scans its strings.
func (u *unit) infoPlist(b []byte, src gown.Source) error {
	p, err := ios.ParsePlist(b)
	if err != nil {
		return u.unparsedPlist(b, src, err)
	}
	id, version := p.String("CFBundleIdentifier"), p.String("CFBundleShortVersionString")
	if version == "" {
		version = p.String("CFBundleVersion")
	}
	ats := ios.ReadATS(p)
	u.effect(func(s *appScan) {
		if !s.infoSeen {
			s.infoSeen = true
			s.app.ID, s.app.Version, s.ats = id, version, ats
		}
	})
	u.plistStrings(p, src)
	return nil
}

// plist scans any property list (GoogleService-Info.plist among them),
// labelling each string with its key path.
func (u *unit) plist(b []byte, src gown.Source) error {
	p, err := ios.ParsePlist(b)
	if err != nil {
		return u.unparsedPlist(b, src, err)
	}
	u.plistStrings(p, src)
	return nil
}

// unparsedPlist handles a plist the bounded reader did not decode. One in
// the OpenStep text form, or over a cap (a crafted one nested a million
// deep), is still scanned as plain text, so its strings are not lost, and
// the cap is reported; a malformed one is an error.
func (u *unit) unparsedPlist(b []byte, src gown.Source, err error) error {
	switch {
	case errors.Is(err, ios.ErrTextPlist):
		u.blob(b, src)
		return nil
	case errors.Is(err, ios.ErrPlistCap):
		u.blob(b, src)
		return fmt.Errorf("%w; scanned as plain text", err)
	}
	return err
}

func (u *unit) plistStrings(p *ios.Plist, src gown.Source) {
	src.Encoding = "plist"
	err := p.Strings(func(key, str string) bool {
		r := src
		r.Section = key
		u.scanString(str, r)
		switch {
		case key == "PROJECT_ID" || strings.HasSuffix(key, ".PROJECT_ID"):
			u.project(str, r)
		case strings.Contains(str, "applinks:") || strings.Contains(str, "webcredentials:") || strings.Contains(str, "activitycontinuation:"):
			u.associated([]byte(str))
		}
		return true
	})
	if err != nil {
		u.fail(fmt.Errorf("%s!%s: %w", src.Container, src.Entry, err))
	}
}

// macho scans a Mach-O's string sections. An encrypted binary marks the
// app unreadable: what it hides cannot be called clean.
func (u *unit) macho(b []byte, src gown.Source) error {
	bin, err := ios.ReadMachO(b)
	if err != nil {
		return err
	}
	if bin.Encrypted {
		u.effect(func(s *appScan) { s.app.Encrypted = true })
		u.fail(fmt.Errorf("%s!%s: FairPlay-encrypted (cryptid≠0): its strings cannot be read; decrypt the app to scan it fully", src.Container, src.Entry))
	}
	u.associated(b) // the entitlements in the code signature
	var imgs []dart.Image
	for _, sn := range bin.Snapshots {
		if bytes.HasPrefix(b[sn.Off:sn.End], []byte(dart.Magic)) {
			imgs = append(imgs, dart.Image{Symbol: sn.Symbol, Off: int(sn.Off), End: int(sn.End)})
		}
	}
	fw := "dart"
	if strings.Contains(src.Entry, "App.framework/") {
		fw = "flutter"
	}
	skip := u.dartStrings(b, imgs, src, fw)
	for _, c := range bin.Code {
		r := src
		r.Section, r.Encoding = c.Name+" swift small string", "ascii"
		for _, sm := range ios.SmallStrings(c.Data, c.Arch) {
			if len(sm.Text) >= pieceMin {
				r.Offset = c.Off + int64(sm.Off)
				u.scanCode(sm.Text, r)
			}
		}
	}
	for _, sec := range bin.Sections {
		r := src
		r.Section = sec.Name
		if sec.UTF16 {
			r.Encoding = "utf-16le"
			utf16Strings(sec.Data, func(off int, str string) {
				r.Offset = sec.Off + int64(off)
				u.scanString(str, r)
			})
			continue
		}
		r.Encoding = "ascii"
		var adj adjacent
		between(int(sec.Off), int(sec.Off)+len(sec.Data), skip, func(from, to int) {
			runs(b[from:to], 2, func(off int, str []byte) {
				off += from // file offsets, for adj too
				r.Offset = int64(off)
				if len(str) >= 6 {
					u.scan(str, r)
				}
				if v, first, ok := adj.next(off, str); ok {
					p0, p1 := r, r
					p0.Offset = int64(first)
					u.scanBuilt(v, p0, []gown.Source{p0, p1})
				}
			})
		})
	}
	return nil
}

// codeConfidence scales the confidence of an endpoint read from a Swift
// small string's immediates: the words are paired by place, not by data
// flow, so the string may be two constants that were never one.
const codeConfidence = 0.7

// scanCode scans a string read from machine code; its endpoints get a
// lower confidence and the offset of the instruction that builds it.
func (u *unit) scanCode(text string, at gown.Source) {
	n := len(u.hits)
	u.scanString(text, at)
	for i := n; i < len(u.hits); i++ {
		if ep := u.hits[i].ep; ep != nil {
			ep.Confidence *= codeConfidence
			ep.Sources[0].Offset = at.Offset
		}
	}
}

// adjacent pairs C strings that sit next to each other in a string
// section, one NUL apart, when together they make an endpoint the code
// joins at run time: a bare scheme and a host ("https://", "api.shop.net"),
// or a host or URL and a port (":8443", ":6379/0"). Compilers keep a
// file's literals in order, so the two halves of `"https://" + host` or
// `host + ":" + port` usually end up side by side.
type adjacent struct {
	prev    string
	off     int // prev's offset, end its end
	end     int
	pending bool
}

// next takes the run at off and returns the joined pair, and the offset
// of its first half, when prev and this run make one.
func (a *adjacent) next(off int, s []byte) (string, int, bool) {
	joined, first, ok := "", a.off, false
	if a.pending && off == a.end+1 && len(s) <= 253 {
		switch {
		case strings.HasSuffix(a.prev, "://") && hostStart(s):
			joined, ok = a.prev+string(s), true
		case isPort(s) && (strings.Contains(a.prev, "://") || hostLike(a.prev)):
			joined, ok = a.prev+string(s), true
		}
	}
	a.pending = false
	if len(s) <= 253 && (bytes.HasSuffix(s, []byte("://")) || bytes.Contains(s, []byte("://")) || hostLike(string(s))) {
		a.prev, a.off, a.end, a.pending = string(s), off, off+len(s), true
	}
	return joined, first, ok
}

func hostStart(s []byte) bool {
	return len(s) > 3 && (s[0] >= 'a' && s[0] <= 'z' || s[0] >= '0' && s[0] <= '9') && bytes.IndexByte(s, '.') > 0 && !bytes.ContainsAny(s, " \t\"'<>")
}

// isPort reports ":NNNN", optionally followed by a path.
func isPort(s []byte) bool {
	if len(s) < 3 || s[0] != ':' {
		return false
	}
	n := 1
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n >= 3 && n <= 6 && (n == len(s) || s[n] == '/')
}

// hostLike reports a bare host name: letters, digits, dots and hyphens,
// with a dot, under a public suffix.
func hostLike(s string) bool {
	if len(s) < 4 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return false
	}
	return ValidHost(s)
}

// associated records the iOS associated domains named in b.
func (u *unit) associated(b []byte) {
	if ds := associatedDomains(b); len(ds) > 0 {
		u.effect(func(s *appScan) {
			s.assoc = append(s.assoc, ds[:min(len(ds), maxIdentity-len(s.assoc))]...)
		})
	}
}

// utf16Strings splits NUL-terminated UTF-16LE strings.
func utf16Strings(b []byte, fn func(off int, s string)) {
	start := 0
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := uint16(b[i]) | uint16(b[i+1])<<8
		if c == 0 {
			if len(u) >= 4 {
				fn(start, string(utf16.Decode(u)))
			}
			u, start = u[:0], i+2
			continue
		}
		u = append(u, c)
	}
}

// elf scans an ELF's read-only data (Flutter's libapp.so keeps the Dart
// strings there, NDK code its C strings), or the whole file as printable
// runs when the section table cannot be read.
func (u *unit) elf(b []byte, src gown.Source) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		u.blob(b, src)
		return nil
	}
	defer f.Close()
	fw := "dart"
	if path.Base(src.Entry) == "libapp.so" {
		fw = "flutter"
	}
	skip := u.dartStrings(b, dart.Images(f, b), src, fw)
	read, budget := 0, uint64(2*len(b)) // sections may overlap: scan at most twice the file
	for _, sec := range f.Sections {
		if sec.Type == elf.SHT_NOBITS || (sec.Name != ".rodata" && sec.Name != ".data.rel.ro" && sec.Name != ".data") {
			continue
		}
		end := sec.Offset + sec.Size
		if sec.Offset > uint64(len(b)) || end > uint64(len(b)) || end < sec.Offset || sec.Size > budget {
			continue
		}
		read, budget = read+1, budget-sec.Size
		r := src
		r.Section, r.Encoding = sec.Name, "ascii"
		w := r
		w.Encoding = "utf-16le"
		between(int(sec.Offset), int(end), skip, func(from, to int) {
			runs(b[from:to], 6, func(off int, str []byte) {
				r.Offset = int64(from + off)
				u.scan(str, r)
			})
			utf16Runs(b[from:to], 6, func(off int, str []byte) {
				w.Offset = int64(from + off)
				u.scan(str, w)
			})
		})
	}
	if read == 0 { // stripped section headers: fall back to the whole file
		u.blob(b, src)
	}
	return nil
}

// dartStrings scans the string objects of the Dart AOT snapshot images of
// a library (a Flutter app's libapp.so or App.framework/App; see package
// dart), each whole and decoded, and returns the file spans they fill,
// sorted, for the section scan to pass over. A snapshot marks the app as
// built with fw.
func (u *unit) dartStrings(b []byte, imgs []dart.Image, src gown.Source, fw string) [][2]int {
	var spans [][2]int
	for _, img := range imgs {
		u.framework(fw)
		r := src
		r.Section = "dart snapshot " + img.Symbol
		err := dart.Strings(b[img.Off:img.End], func(s dart.String) bool {
			r.Offset, r.Encoding = int64(img.Off+s.Data), "latin-1"
			if s.Wide {
				r.Encoding = "utf-16le"
			}
			if len(s.Text) >= 6 {
				u.scan(s.Text, r)
			}
			spans = append(spans, [2]int{img.Off + s.Off, img.Off + s.End})
			return true
		})
		if err != nil {
			u.fail(fmt.Errorf("%s!%s: %s: %w (read as printable runs)", src.Container, src.Entry, img.Symbol, err))
		}
	}
	slices.SortFunc(spans, func(x, y [2]int) int { return x[0] - y[0] })
	return spans
}

// between calls fn with each part of [from, to) that no span of skip
// (sorted, not overlapping) covers.
func between(from, to int, skip [][2]int, fn func(from, to int)) {
	i, _ := slices.BinarySearchFunc(skip, from, func(s [2]int, x int) int { return s[1] - x - 1 })
	for ; i < len(skip) && skip[i][0] < to && from < to; i++ {
		if skip[i][0] > from {
			fn(from, skip[i][0])
		}
		from = max(from, skip[i][1])
	}
	if from < to {
		fn(from, to)
	}
}

// framework records a framework the app is built with, once.
func (u *unit) framework(name string) {
	u.effect(func(s *appScan) {
		if !slices.Contains(s.app.Frameworks, name) {
			s.app.Frameworks = append(s.app.Frameworks, name)
		}
	})
}
