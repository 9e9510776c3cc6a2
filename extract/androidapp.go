package extract

import (
	"archive/zip"
	"fmt"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android"
)

// prepare reads the facts the rest of the walk needs, before the walk:
// Android's resource table and manifest (identity, clear-text settings,
// the network security config found through the table), iOS's Info.plist.
// Entries read here are marked so the walk does not read them twice.
func (s *appScan) prepare(a *archive) {
	var rest []*zip.File
	byName := map[string]*zip.File{}
	for _, f := range a.files {
		byName[f.Name] = f
	}
	done := map[*zip.File]bool{}
	load := func(name string) ([]byte, gown.Source, bool) {
		f := byName[name]
		if f == nil || done[f] {
			return nil, gown.Source{}, false
		}
		done[f] = true
		b, err := s.read(a, f)
		if err != nil {
			s.fail(err)
			return nil, gown.Source{}, false
		}
		return b, gown.Source{Container: a.name, Entry: name}, true
	}
	if b, src, ok := load("resources.arsc"); ok {
		s.report(src, s.arsc(b, src))
	}
	if b, src, ok := load("AndroidManifest.xml"); ok {
		x, err := android.ParseXML(b)
		s.report(src, err)
		s.manifest1(x, src)
	}
	if b, src, ok := load("base/manifest/AndroidManifest.xml"); ok { // an app bundle's, in protobuf
		x, err := android.ParseProtoXML(b)
		s.report(src, err)
		s.manifest1(x, src)
	}
	if s.nsc == nil && s.manifest != nil && s.manifest.NetworkSecurityConfig != 0 && s.table != nil {
		if p, ok := s.table.String(s.manifest.NetworkSecurityConfig); ok {
			s.nscPath = p
			if b, src, ok := load(p); ok {
				s.report(src, s.axml(b, src))
			}
		}
	}
	if info := infoPlist(a.files); info != "" {
		if b, src, ok := load(info); ok {
			s.report(src, s.infoPlist(b, src))
		}
	}
	for _, f := range a.files {
		if !done[f] {
			rest = append(rest, f)
		}
	}
	a.files = rest
}

func (s *appScan) report(src gown.Source, err error) {
	if err != nil {
		s.fail(fmt.Errorf("%s!%s: %w", src.Container, src.Entry, err))
	}
}

// dex scans every string of a dex string table.
func (s *appScan) dex(b []byte, src gown.Source) error {
	src.Section, src.Encoding = "dex string table", "mutf-8"
	return android.DexStrings(b, func(off int, str string) bool {
		r := src
		r.Offset = int64(off)
		s.col.scan(str, r)
		return true
	})
}

// arsc scans the global string pool, which holds every string value of
// every configuration (all locales), labelling each with the first resource
// that uses it.
func (s *appScan) arsc(b []byte, src gown.Source) error {
	t, err := android.ParseTable(b)
	if t == nil {
		return err
	}
	if s.table == nil {
		s.table = t
	}
	src.Encoding = "utf-16le"
	if t.Strings != nil && t.Strings.UTF8() {
		src.Encoding = "utf-8"
	}
	for i := range t.Strings.Len() {
		str, off := t.Strings.Get(uint32(i))
		r := src
		r.Offset, r.Section = int64(off), "string pool"
		if n := t.Names[uint32(i)]; n != "" {
			r.Section = n
		}
		s.col.scan(str, r)
	}
	return err
}

// manifest1 reads identity and clear-text settings from a decoded
// manifest (binary or protobuf) and scans its strings. A split's manifest
// (split="config.x86") does not set the app's identity.
func (s *appScan) manifest1(x *android.XML, src gown.Source) {
	if x == nil {
		return
	}
	m := android.ReadManifest(x)
	if s.manifest == nil && !isSplit(x) {
		s.manifest = m
		s.app.ID, s.app.Version, s.app.TargetSDK = m.Package, m.VersionName, m.TargetSDK
	}
	for _, md := range m.MetaData {
		v := md.Value
		if md.Type == android.TypeReference && s.table != nil {
			v, _ = s.table.String(md.Data)
		}
		r := src
		r.Section, r.Offset, r.Encoding = "meta-data "+md.Name, int64(md.Offset), "binary xml"
		s.col.scan(v, r)
	}
	s.xmlStrings(x, src)
}

func isSplit(x *android.XML) bool {
	for i := range x.Elements {
		if x.Elements[i].Name == "manifest" {
			_, ok := x.Elements[i].Attr("split")
			return ok
		}
	}
	return false
}

// axml reads a binary XML file from res/: the network security config when
// it is the one the manifest names, and its strings in any case.
func (s *appScan) axml(b []byte, src gown.Source) error {
	x, err := android.ParseXML(b)
	if x == nil {
		return err
	}
	if src.Entry == s.nscPath && s.nsc == nil {
		s.nsc = android.ReadNetworkSecurity(x)
	}
	s.xmlStrings(x, src)
	return err
}

// xmlStrings scans a document's string pool, or, for a protobuf document
// that has none, its attribute values and text.
func (s *appScan) xmlStrings(x *android.XML, src gown.Source) {
	src.Section, src.Encoding = "binary xml strings", "binary xml"
	if x.Strings == nil {
		src.Encoding = "protobuf"
		for _, e := range x.Elements {
			r := src
			r.Section, r.Offset = e.Name, 0
			for _, a := range e.Attrs {
				s.col.scan(a.Value, r)
			}
			s.col.scan(e.Text, r)
		}
		return
	}
	for i := range x.Strings.Len() {
		str, off := x.Strings.Get(uint32(i))
		r := src
		r.Offset = int64(off)
		s.col.scan(str, r)
	}
}

// signer records the first signing certificate's digest.
func (s *appScan) signer(b []byte) error {
	if s.app.Signer != "" {
		return nil
	}
	d, err := android.SignerDigest(b)
	if err == nil {
		s.app.Signer = d
	}
	return err
}

// androidPolicy is the effective clear-text policy of an Android app, per
// host: the network security config if the manifest names one, else
// usesCleartextTraffic, else the platform default for the target SDK
// (clear text allowed up to API 27).
func (s *appScan) androidPolicy(host string) (bool, string) {
	sdk := s.app.TargetSDK
	def := sdk > 0 && sdk <= 27
	defWhy := "default for targetSdk " + strconv.Itoa(sdk) + " (≤ 27 allows clear text)"
	if s.nsc != nil {
		var best *android.DomainRule
		for i, d := range s.nsc.Domains {
			if (host == d.Domain || d.Subdomains && strings.HasSuffix(host, "."+d.Domain)) &&
				(best == nil || len(d.Domain) > len(best.Domain)) {
				best = &s.nsc.Domains[i]
			}
		}
		if best != nil {
			return best.Cleartext, fmt.Sprintf("network security config %s: domain-config %s cleartextTrafficPermitted=%t", s.nscPath, best.Domain, best.Cleartext)
		}
		if s.nsc.Base != nil {
			return *s.nsc.Base, fmt.Sprintf("network security config %s: base-config cleartextTrafficPermitted=%t", s.nscPath, *s.nsc.Base)
		}
		return def, "network security config " + s.nscPath + " sets no base: " + defWhy
	}
	if m := s.manifest; m != nil && m.NetworkSecurityConfig != 0 {
		// Named but not found (an AAB, whose resources.pb is not read yet): a
		// missed clear-text finding is worse than a flagged one to check.
		return true, fmt.Sprintf("network security config %#x could not be read; clear text may be allowed", m.NetworkSecurityConfig)
	}
	if m := s.manifest; m != nil && m.Cleartext != nil {
		return *m.Cleartext, fmt.Sprintf("AndroidManifest.xml: android:usesCleartextTraffic=%t", *m.Cleartext)
	}
	return def, defWhy
}
