package extract

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android"
	"github.com/gownscan/gown/extract/hermes"
	"github.com/gownscan/gown/extract/ios"
	"github.com/gownscan/gown/extract/js"
	"github.com/gownscan/gown/extract/rules"
	"github.com/gownscan/gown/extract/unity"
	"github.com/gownscan/gown/extract/xamarin"
)

// appScan is the state of reading one app.
type appScan struct {
	cfg        Config
	rules      []*rules.Rule // all, in priority order
	pieceRules []*rules.Rule // those run over pieces of long texts
	wholeRules []*rules.Rule // those run over whole texts (rules.Rule.Whole)
	parties    *Parties
	app        *gown.App
	col        *collector
	total      atomic.Int64 // uncompressed bytes reserved so far, for MaxTotal
	reading    sync.Once    // calls Config.Reading

	// Android facts gathered before the walk, for the policy join. Set
	// only while no unit runs (prepare), read by units.
	manifest *android.Manifest
	table    *android.Table
	tableSrc gown.Source // table's container and entry
	nscPath  string
	nsc      *android.NetworkSecurity
	// iOS facts.
	infoSeen bool
	ats      *ios.ATS
	// Identity facts beyond the app's id, for the party of each host:
	// the signing certificate's subject, Firebase project ids, iOS
	// associated domains. Written by effects only.
	subject    string
	projects   []string
	projectSrc []gown.Source // where each of projects was read
	// Firestore collection names the app's code uses (collection("x")).
	collections []string
	assoc       []string
	// Hybrid apps' own hosts and ids: Capacitor's server.hostname and
	// allowNavigation, Cordova's widget id, <access origin> and
	// <allow-navigation href>.
	own []ownFact
}

// ownFact is a host (or, with words set, an id) a hybrid app's config
// names as its own.
type ownFact struct {
	text, why string
	words     bool
}

func newAppScan(x *Extractor, name string) *appScan {
	s := &appScan{cfg: x.cfg, rules: x.rules, parties: x.parties, app: &gown.App{File: name}, col: newCollector(x.cfg.MaxEndpoints)}
	for _, r := range x.rules {
		if r.Whole {
			s.wholeRules = append(s.wholeRules, r)
		} else {
			s.pieceRules = append(s.pieceRules, r)
		}
	}
	return s
}

// fail records a problem with the app; reading goes on.
func (s *appScan) fail(err error) {
	if len(s.app.Errors) < 100 {
		s.app.Errors = append(s.app.Errors, err.Error())
	}
}

// merge applies a unit: its hits, its errors, then its effects.
func (s *appScan) merge(u *unit) {
	for _, h := range u.hits {
		s.col.record(h)
	}
	for _, err := range u.errs {
		s.fail(err)
	}
	for _, f := range u.effects {
		f(s)
	}
}

// run opens the outer archive, decides what kind of app it is and walks it.
func (s *appScan) run(ctx context.Context, r io.ReaderAt, size int64) {
	a, err := s.openArchive(r, size, path.Base(s.app.File), 0)
	if err != nil {
		s.fail(err)
		return
	}
	s.app.Format = format(a.zr, s.app.File)
	switch s.app.Format {
	case "ipa":
		s.app.Platform = gown.PlatformIOS
	case "":
		s.fail(fmt.Errorf("%s: %w: no AndroidManifest.xml, Payload/*.app or split APKs", a.name, ErrNotApp))
		return
	default:
		s.app.Platform = gown.PlatformAndroid
	}
	s.walk(ctx, a)
}

// format names the app archive by what it holds, not by its file name.
func format(zr *zip.Reader, name string) string {
	var apks int
	for _, f := range zr.File {
		switch {
		case f.Name == "AndroidManifest.xml":
			return "apk"
		case f.Name == "base/manifest/AndroidManifest.xml":
			return "aab"
		case strings.HasPrefix(f.Name, "Payload/") && strings.Contains(f.Name, ".app/"):
			return "ipa"
		case strings.HasSuffix(strings.ToLower(f.Name), ".apk"):
			apks++
		}
	}
	if apks > 0 {
		if strings.HasSuffix(strings.ToLower(name), ".apks") {
			return "apks"
		}
		return "xapk"
	}
	return ""
}

// walk reads one archive: its entries on the worker pool, which inflates
// from the start while prepare reads the app's identity and policy
// (manifest, resource table, Info.plist) and dispatches nothing before
// prepare is done; then the archives nested in it (splits of an XAPK,
// jars), one at a time, so that an outer archive's entries and an inner
// one's are never in memory together.
func (s *appScan) walk(ctx context.Context, a *archive) {
	for _, d := range a.dups {
		s.fail(fmt.Errorf("%s: duplicate entry name %q (each copy is read)", a.name, d))
	}
	splitOrder(a.files)
	byName := map[string]*zip.File{}
	for _, f := range a.files {
		byName[f.Name] = f
	}
	byPrepare := prepared(a.files)
	var plain, inner []*zip.File
	for _, f := range a.files {
		switch {
		case f.Mode().IsDir() || s.skip(f.Name) || byPrepare[f.Name] && byName[f.Name] == f:
		case nested(f.Name):
			inner = append(inner, f)
		default:
			plain = append(plain, f)
		}
	}
	ready := make(chan struct{})
	merge := s.readAll(ctx, a, plain, ready)
	done := s.prepare(a, byName)
	a.done = done
	close(ready)
	merge()
	for _, f := range inner {
		if ctx.Err() != nil {
			break
		}
		s.nestedEntry(ctx, a, f)
	}
	if ctx.Err() != nil {
		s.fail(fmt.Errorf("%s: %w", a.name, ctx.Err()))
		return
	}
	if s.app.Signer == "" && a.zr != nil && format(a.zr, "") == "apk" {
		d, subj, err := android.SigningBlockInfo(a.r, a.size)
		switch {
		case err == nil:
			s.app.Signer, s.subject = d, subj
		case !errors.Is(err, android.ErrNoSigningBlock):
			s.fail(fmt.Errorf("%s: %w", a.name, err))
		}
	}
}

// nestedEntry reads an entry named like an archive: a zip is walked in
// turn, anything else is read as a plain entry.
func (s *appScan) nestedEntry(ctx context.Context, a *archive, f *zip.File) {
	b, _, err := s.read(a, f, nil, false, nil, nil)
	if err != nil {
		s.fail(err)
		return
	}
	if !bytes.HasPrefix(b, []byte("PK")) {
		s.merge(s.unitOf(a, f, b))
		return
	}
	innerA, err := s.openArchive(bytes.NewReader(b), int64(len(b)), a.name+"!"+f.Name, a.depth+1)
	if err != nil {
		s.fail(err)
		return
	}
	s.walk(ctx, innerA)
}

// unitOf dispatches one entry's bytes to its reader; a reader's panic is
// caught and recorded, so one crafted file costs its own entry and nothing
// more.
func (s *appScan) unitOf(a *archive, f *zip.File, b []byte) *unit {
	return s.unitWith(a, f, func(u *unit, src gown.Source) error { return u.dispatch(b, src) })
}

// unitWith runs one reader over an entry in a new unit, catching its panic.
func (s *appScan) unitWith(a *archive, f *zip.File, read func(*unit, gown.Source) error) (u *unit) {
	u = &unit{s: s}
	defer func() {
		if r := recover(); r != nil {
			u.fail(fmt.Errorf("%s!%s: reader panic: %v", a.name, f.Name, r))
		}
	}()
	if err := read(u, gown.Source{Container: a.name, Entry: f.Name}); err != nil {
		u.fail(fmt.Errorf("%s!%s: %w", a.name, f.Name, err))
	}
	return u
}

// skipName lists entries that hold no back end by their name alone:
// signature manifests (a digest per entry), Kotlin metadata, compiled iOS
// interface files and asset catalogs. Media are recognised by their first
// bytes instead (see noText), so a JSON config named logo.png is still read.
var skipName = map[string]bool{".kotlin_builtins": true, ".kotlin_module": true, ".version": true,
	".sf": true, ".mf": true, ".car": true, ".nib": true, ".storyboardc": true}

func (s *appScan) skip(name string) bool {
	return skipName[strings.ToLower(path.Ext(name))]
}

// noText reports whether an entry's first bytes are those of a format that
// holds no string worth scanning: images, audio, video, fonts and ICU data
// (big Java apps ship tens of megabytes of ICU tables). Such entries are
// not inflated past their first bytes.
func noText(h []byte) bool {
	for _, magic := range []string{"\x89PNG", "\xff\xd8\xff", "GIF8", "RIFF", "OggS", "fLaC", "ID3", "OTTO",
		"wOFF", "wOF2", "ttcf", "\x00\x01\x00\x00\x00"} {
		if bytes.HasPrefix(h, []byte(magic)) {
			return true
		}
	}
	switch {
	case len(h) >= 8 && string(h[4:8]) == "ftyp": // MP4, M4A, 3GP, HEIF
		return true
	case len(h) >= 16 && h[2] == 0xda && h[3] == 0x27: // ICU data header (udata.h)
		return true
	}
	return false
}

// dispatch hands an entry to the reader for its kind.
func (u *unit) dispatch(b []byte, src gown.Source) error {
	name, lower := src.Entry, strings.ToLower(src.Entry)
	if strings.Contains(name, "flutter_assets/") {
		u.framework("flutter")
	}
	switch {
	case name == u.s.nscPath && len(b) >= 8 && le16(b) == 0x0003: // whatever R8 named it
		return u.axml(b, src)
	case name == u.s.nscPath && u.s.app.Format == "aab":
		return u.protoXML(b, src)
	case bytes.HasPrefix(b, []byte("dex\n")):
		return u.dex(b, src)
	case strings.HasPrefix(lower, "meta-inf/") && (strings.HasSuffix(lower, ".rsa") || strings.HasSuffix(lower, ".dsa") || strings.HasSuffix(lower, ".ec")):
		return u.signer(b)
	case name == "resources.arsc":
		return u.arsc(b, src)
	case path.Base(name) == "resources.pb" && u.s.app.Format == "aab":
		return u.protoTable(b, src)
	case len(b) >= 8 && le16(b) == 0x0003 && strings.HasSuffix(lower, ".xml"):
		return u.axml(b, src)
	case u.s.app.Format == "aab" && strings.HasSuffix(lower, ".xml") && (strings.Contains(name, "/res/") || strings.Contains(name, "/manifest/")):
		return u.protoXML(b, src)
	case strings.HasSuffix(lower, ".plist"), bytes.HasPrefix(b, []byte("bplist0")):
		return u.plist(b, src)
	case isMachO(b):
		return u.macho(b, src)
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return u.elf(b, src)
	case bytes.HasPrefix(b, []byte(hermes.Magic)):
		u.framework("react-native-hermes")
		u.hermes(b, src)
		return nil
	case bytes.HasPrefix(b, []byte(unity.Magic)):
		u.framework("unity-il2cpp")
		return u.il2cpp(b, src)
	case bytes.HasPrefix(b, []byte(xamarin.Magic)), bytes.HasPrefix(b, []byte(xamarin.BlobMagic)):
		u.framework("xamarin")
		return u.assemblies(b, src)
	}
	u.blob(b, src)
	return nil
}

func le16(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }

func isMachO(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe":
		return true
	case "\xca\xfe\xba\xbe":
		// Java class files share the fat magic; there the next word is the
		// class version (major ≥ 45), in a fat file the architecture count.
		return len(b) >= 8 && binary.BigEndian.Uint32(b[4:]) < 45
	}
	return false
}

// blob scans an entry whose structure is not decoded: text files (configs,
// JS bundles, HTML) whole, anything else as runs of printable bytes.
func (u *unit) blob(b []byte, src gown.Source) {
	if strings.HasSuffix(src.Entry, ".mobileprovision") {
		u.associated(b) // the profile's entitlements: the app's associated domains
	}
	if looksText(b) {
		src.Encoding = "utf-8"
		u.hybridConfig(b, src)
		u.scan(b, src)
		if scriptName(src.Entry) && (bytes.Contains(b, []byte("://")) || bytes.Contains(b, []byte("${"))) {
			u.jsBuilt(b, src)
		}
		return
	}
	src.Encoding, src.Section = "ascii", sniff(b)
	runs(b, 6, func(off int, str []byte) {
		r := src
		r.Offset = int64(off)
		u.scan(str, r)
	})
	src.Encoding = "utf-16le" // .NET assemblies' user strings, Windows-built data
	utf16Runs(b, 6, func(off int, str []byte) {
		r := src
		r.Offset = int64(off)
		u.scan(str, r)
	})
}

// scriptName reports an entry that holds JavaScript: a bundle (React
// Native, Capacitor, Cordova) or a page.
func scriptName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".js", ".mjs", ".cjs", ".bundle", ".jsbundle", ".html", ".htm":
		return true
	}
	return false
}

// jsBuilt scans the strings a script builds from constants (see js).
func (u *unit) jsBuilt(b []byte, src gown.Source) {
	js.BuiltStrings(b, func(bt js.Built) bool {
		at := src
		at.Section, at.Offset = "js expression", int64(bt.Off)
		parts := make([]gown.Source, len(bt.Parts))
		for i, p := range bt.Parts {
			parts[i] = src
			parts[i].Section, parts[i].Offset = "js literal", int64(p.Off)
		}
		u.scanBuilt(bt.Value, at, parts)
		return true
	})
}

// hermes scans a Hermes bytecode file's string table, each string whole
// (see package hermes). A file whose table is not found (a bytecode
// version laid out otherwise) is scanned as printable runs, as any binary,
// and its section says so.
func (u *unit) hermes(b []byte, src gown.Source) {
	t, err := hermes.Open(b)
	if err != nil {
		src.Encoding, src.Section = "ascii", fmt.Sprintf("hermes bytecode v%d (string table not found: printable runs)", hermes.Version(b))
		runs(b, 6, func(off int, str []byte) {
			r := src
			r.Offset = int64(off)
			u.scan(str, r)
		})
		return
	}
	src.Section = fmt.Sprintf("hermes bytecode v%d string table", hermes.Version(b))
	t.Strings(func(off int, s []byte, wide bool) bool {
		r := src
		r.Offset, r.Encoding = int64(off), "utf-8"
		if wide {
			r.Encoding = "utf-16le"
		}
		u.scan(s, r)
		return true
	})
}

// il2cpp scans a Unity IL2CPP global-metadata.dat: its C# string literals
// through their table, each whole (the data runs them together), then the
// rest of the file, as any binary, around the literal data.
func (u *unit) il2cpp(b []byte, src gown.Source) error {
	lit := src
	lit.Section, lit.Encoding = fmt.Sprintf("il2cpp v%d string literals", unity.Version(b)), "utf-8"
	err := unity.Literals(b, func(off int, s []byte) bool {
		r := lit
		r.Offset = int64(off)
		u.scan(s, r)
		return true
	})
	rest := src
	rest.Section, rest.Encoding = "il2cpp metadata", "ascii"
	scanRuns := func(from, to int) {
		runs(b[from:to], 6, func(off int, s []byte) {
			r := rest
			r.Offset = int64(from + off)
			u.scan(s, r)
		})
	}
	if off, size, ok := unity.Data(b); ok && err == nil {
		scanRuns(0, off)
		scanRuns(off+size, len(b))
	} else {
		scanRuns(0, len(b))
	}
	return err
}

// maxAssemblies caps the compressed assemblies unpacked from one entry.
const maxAssemblies = 4096

// assemblies reads Xamarin and .NET for Android assemblies: each XALZ
// (LZ4) assembly in the entry is unpacked, within the entry size cap, and
// read as any undecoded binary (printable and UTF-16 runs: the #US heap of
// C# literals); an assembly store's own bytes are read too.
func (u *unit) assemblies(b []byte, src gown.Source) error {
	if bytes.HasPrefix(b, []byte(xamarin.BlobMagic)) {
		u.blob(b, src)
	}
	max := int(min(u.s.cfg.MaxEntrySize, 1<<30))
	return xamarin.Each(b, max, maxAssemblies, func(off int, asm []byte) bool {
		if u.s.total.Add(int64(len(asm))) > u.s.cfg.MaxTotal {
			u.fail(fmt.Errorf("%s!%s: assemblies past the %d-byte total cap not read", src.Container, src.Entry, u.s.cfg.MaxTotal))
			return false
		}
		r := src
		r.Section = fmt.Sprintf("xalz assembly @%d", off)
		u.blob(asm, r)
		return true
	})
}

// looksText checks the first bytes: text has no NULs and few control bytes.
func looksText(b []byte) bool {
	head := b[:min(len(b), 1024)]
	bad := 0
	for _, c := range head {
		if c == 0 {
			return false
		}
		if c < 0x09 || (c > 0x0d && c < 0x20) {
			bad++
		}
	}
	return bad*20 < len(head)
}

// sniff names well-known binary formats for the source's section.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\xc6\x1f\xbc\x03\xc1\x03\x19\x1f")):
		return "hermes bytecode"
	case bytes.HasPrefix(b, []byte("SQLite format 3\x00")):
		return "sqlite"
	case len(b) >= 8 && le16(b) == 0x0003:
		return "binary xml"
	}
	return ""
}
