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

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android"
	"github.com/gownscan/gown/extract/ios"
)

// appScan is the state of reading one app.
type appScan struct {
	cfg   Config
	app   *gown.App
	col   *collector
	total int64 // uncompressed bytes read so far

	// Android facts gathered before the walk, for the policy join.
	manifest *android.Manifest
	table    *android.Table
	nscPath  string
	nsc      *android.NetworkSecurity
	// iOS facts.
	infoSeen bool
	ats      *ios.ATS
}

func newAppScan(x *Extractor, name string) *appScan {
	return &appScan{cfg: x.cfg, app: &gown.App{File: name}, col: newCollector(x.rules, x.parties, x.cfg.MaxEndpoints)}
}

// fail records a problem with the app; reading goes on.
func (s *appScan) fail(err error) {
	if len(s.app.Errors) < 100 {
		s.app.Errors = append(s.app.Errors, err.Error())
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

// walk reads one archive: the app's identity and policy first (manifest,
// resource table, Info.plist), then every entry.
func (s *appScan) walk(ctx context.Context, a *archive) {
	for _, d := range a.dups {
		s.fail(fmt.Errorf("%s: duplicate entry name %q (each copy is read)", a.name, d))
	}
	splitOrder(a.files)
	s.prepare(a)
	for _, f := range a.files {
		if ctx.Err() != nil {
			s.fail(fmt.Errorf("%s: %w", a.name, ctx.Err()))
			return
		}
		if f.Mode().IsDir() || s.skip(f.Name) {
			continue
		}
		s.entry(ctx, a, f)
	}
	if s.app.Signer == "" && a.zr != nil && format(a.zr, "") == "apk" {
		d, err := android.SigningBlockDigest(a.r, a.size)
		switch {
		case err == nil:
			s.app.Signer = d
		case !errors.Is(err, android.ErrNoSigningBlock):
			s.fail(fmt.Errorf("%s: %w", a.name, err))
		}
	}
}

// entry reads and dispatches one entry; a reader's panic is caught and
// recorded, so one crafted file costs its own entry and nothing more.
func (s *appScan) entry(ctx context.Context, a *archive, f *zip.File) {
	defer func() {
		if r := recover(); r != nil {
			s.fail(fmt.Errorf("%s!%s: reader panic: %v", a.name, f.Name, r))
		}
	}()
	b, err := s.read(a, f)
	if err != nil {
		s.fail(err)
		return
	}
	src := gown.Source{Container: a.name, Entry: f.Name}
	if nested(f.Name) && bytes.HasPrefix(b, []byte("PK")) {
		inner, err := s.openArchive(bytes.NewReader(b), int64(len(b)), a.name+"!"+f.Name, a.depth+1)
		if err != nil {
			s.fail(err)
			return
		}
		s.walk(ctx, inner)
		return
	}
	if err := s.dispatch(b, src); err != nil {
		s.fail(fmt.Errorf("%s!%s: %w", a.name, f.Name, err))
	}
}

// skipExt lists media and font types: they hold no strings worth the time.
var skipExt = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".webp": true, ".gif": true,
	".mp3": true, ".mp4": true, ".ogg": true, ".wav": true, ".m4a": true, ".ttf": true, ".otf": true,
	".woff": true, ".woff2": true, ".9.png": true, ".car": true, ".nib": true, ".storyboardc": true,
	".kotlin_builtins": true, ".kotlin_module": true, ".version": true, ".sf": true, ".mf": true}

func (s *appScan) skip(name string) bool {
	return skipExt[strings.ToLower(path.Ext(name))]
}

// dispatch hands an entry to the reader for its kind.
func (s *appScan) dispatch(b []byte, src gown.Source) error {
	name, lower := src.Entry, strings.ToLower(src.Entry)
	switch {
	case bytes.HasPrefix(b, []byte("dex\n")):
		return s.dex(b, src)
	case strings.HasPrefix(lower, "meta-inf/") && (strings.HasSuffix(lower, ".rsa") || strings.HasSuffix(lower, ".dsa") || strings.HasSuffix(lower, ".ec")):
		return s.signer(b)
	case name == "resources.arsc":
		return s.arsc(b, src)
	case len(b) >= 8 && le16(b) == 0x0003 && strings.HasSuffix(lower, ".xml"):
		return s.axml(b, src)
	case strings.HasSuffix(lower, ".plist"), bytes.HasPrefix(b, []byte("bplist0")):
		return s.plist(b, src)
	case isMachO(b):
		return s.macho(b, src)
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return s.elf(b, src)
	}
	s.blob(b, src)
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
func (s *appScan) blob(b []byte, src gown.Source) {
	if looksText(b) {
		src.Encoding = "utf-8"
		s.col.scan(string(b), src)
		return
	}
	src.Encoding, src.Section = "ascii", sniff(b)
	runs(b, 6, func(off int, str string) {
		r := src
		r.Offset = int64(off)
		s.col.scan(str, r)
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
