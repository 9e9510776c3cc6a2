package extract

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android"
)

// prepare reads the facts the rest of the walk needs: Android's resource
// table and manifest (identity, clear-text settings, the path of the
// network security config found through the table), iOS's Info.plist. An
// app bundle keeps the same facts in protobuf: base/resources.pb and
// base/manifest/AndroidManifest.xml, with resource paths relative to the
// module folder. Each entry read is merged at once, so the next one sees its
// effects. It runs while the walk's workers inflate the other entries (they
// dispatch nothing before it returns) and returns the entries it read whole,
// which the walk must not read again; a table's strings are left to its
// entry's unit.
func (s *appScan) prepare(a *archive, byName map[string]*zip.File) map[*zip.File]bool {
	done := map[*zip.File]bool{}
	load := func(name string, read func(u *unit, b []byte, src gown.Source) error) {
		f := byName[name]
		if f == nil || done[f] {
			return
		}
		done[f] = true
		b, _, err := s.read(a, f, nil, false, nil, nil)
		if err != nil {
			s.fail(err)
			return
		}
		u := &unit{s: s}
		src := gown.Source{Container: a.name, Entry: name}
		if err := read(u, b, src); err != nil {
			u.fail(fmt.Errorf("%s!%s: %w", a.name, name, err))
		}
		s.merge(u)
	}
	s.loadTable(a, byName["resources.arsc"], android.ParseTable, done)
	s.loadTable(a, byName["base/resources.pb"], android.ParseProtoTable, done)
	load("AndroidManifest.xml", func(u *unit, b []byte, src gown.Source) error {
		x, err := android.ParseXML(b)
		u.manifest(x, src)
		return err
	})
	load("base/manifest/AndroidManifest.xml", func(u *unit, b []byte, src gown.Source) error {
		x, err := android.ParseProtoXML(b)
		u.manifest(x, src)
		return err
	})
	if s.nscPath == "" && s.manifest != nil && s.manifest.NetworkSecurityConfig != 0 && s.table != nil {
		if p, ok := s.table.String(s.manifest.NetworkSecurityConfig); ok {
			if s.app.Format == "aab" && byName[p] == nil {
				p = "base/" + p // a bundle module's paths are relative to its folder
			}
			s.nscPath = p // read by its unit in the walk (see dispatch)
		}
	}
	if info := infoPlist(a.files); info != "" {
		load(info, func(u *unit, b []byte, src gown.Source) error { return u.infoPlist(b, src) })
	}
	return done
}

// prepared names the entries prepare reads whole, by name alone, so the
// walk can leave them out before prepare has run.
func prepared(files []*zip.File) map[string]bool {
	m := map[string]bool{"AndroidManifest.xml": true, "base/manifest/AndroidManifest.xml": true}
	if info := infoPlist(files); info != "" {
		m[info] = true
	}
	return m
}

// loadTable parses an archive's resource table before the walk, for the
// manifest's references; its strings are scanned later, in the walk, by
// the unit of its entry (see readEntry), alongside the other entries.
func (s *appScan) loadTable(a *archive, f *zip.File, parse func([]byte) (*android.Table, error), done map[*zip.File]bool) {
	if f == nil || a.table != nil {
		return
	}
	b, _, err := s.read(a, f, nil, false, nil, nil) // a fresh buffer: the table keeps it
	if err != nil {
		s.fail(err)
		done[f] = true
		return
	}
	t, err := parse(b)
	if err != nil {
		s.fail(fmt.Errorf("%s!%s: %w", a.name, f.Name, err))
	}
	if t == nil {
		done[f] = true
		return
	}
	a.table, a.tableFile = t, f
	if s.table == nil {
		s.table, s.tableSrc = t, gown.Source{Container: a.name, Entry: f.Name}
	}
}

// dexStreamMin is the dex size past which the dex is scanned while it
// inflates, never held whole (see readEntry): a big app's classes.dex is
// the longest single piece of work in it, and its largest entry.
const dexStreamMin = 1 << 20

// streamMin is the dex size from which a dex streams: never with
// Config.FlowLargeDex, which holds every dex whole to follow its bytecode.
func (s *appScan) streamMin() uint64 {
	if s.cfg.FlowLargeDex {
		return 1 << 63
	}
	return dexStreamMin
}

// dex scans every string of a dex string table but Kotlin's SMAP
// strings, the source maps of inlined functions (file names and line
// tables, a tenth of a Kotlin app's string bytes).
func (u *unit) dex(b []byte, src gown.Source) error {
	src.Section, src.Encoding = "dex string table", "mutf-8"
	if err := android.DexStrings(b, u.dexString(src)); err != nil {
		return err
	}
	return u.dexBuilt(b, src)
}

// builtConfidence scales the confidence of an endpoint built at run time:
// its pieces were joined by a data flow that follows no branch.
const builtConfidence = 0.6

// dexBuilt scans the strings the dex's methods build from constants (see
// android.DexBuilt). Each endpoint found in one is placed at the
// instruction that completes it, with the places of its parts.
func (u *unit) dexBuilt(b []byte, src gown.Source) error {
	return android.DexBuiltWith(b, u.resources(), func(bt android.Built) bool {
		u.builtDex(bt, src)
		return true
	})
}

// resources resolves the app's string resources for the data flow
// (getString(R.string.x)); nil without a resource table.
func (u *unit) resources() android.Resources {
	if u.s.table == nil {
		return nil
	}
	return u.s.table.BuiltResources()
}

// builtDex scans one string a dex's method builds.
func (u *unit) builtDex(bt android.Built, src gown.Source) {
	at := src
	at.Section, at.Offset, at.Encoding = "dex code "+bt.Method, int64(bt.Off), "dex bytecode"
	parts := make([]gown.Source, len(bt.Parts))
	for i, p := range bt.Parts {
		parts[i] = src
		parts[i].Offset = int64(p.Off)
		switch {
		case p.Res != 0 && u.s.table != nil:
			// Where the resource's text is, named as the table names it.
			_, off, name, _ := u.s.table.Resource(p.Res, len(p.Text))
			parts[i] = u.s.tableSrc
			parts[i].Offset, parts[i].Section, parts[i].Encoding = int64(off), name, tableEncoding(u.s.table)
			if name == "" {
				parts[i].Section = fmt.Sprintf("resource 0x%08x", p.Res)
			}
		case p.Num:
			parts[i].Section, parts[i].Encoding = "dex code const "+bt.Method, "dex bytecode"
		}
	}
	u.scanBuilt(bt.Value, at, parts)
}

// scanBuilt scans a string built at run time: each endpoint found in it
// is placed at at, where it is built, carries the places of its parts and
// a lower confidence.
func (u *unit) scanBuilt(value string, at gown.Source, parts []gown.Source) {
	n := len(u.hits)
	u.scanString(value, at)
	for i := n; i < len(u.hits); i++ {
		if ep := u.hits[i].ep; ep != nil {
			ep.Confidence *= builtConfidence
			ep.Sources[0].Offset = at.Offset
			ep.Parts = parts
		}
	}
}

func (u *unit) dexString(src gown.Source) func(off int, str []byte) bool {
	return func(off int, str []byte) bool {
		if !bytes.HasPrefix(str, []byte("SMAP\n")) {
			r := src
			r.Offset = int64(off)
			u.scan(str, r)
		}
		return true
	}
}

// dexAheadMin is the dex size from which a dex read whole is scanned while
// it inflates (see readEntry).
const dexAheadMin = 128 << 10

// dexAsWritten scans a dex that the worker is still inflating into b.
func (u *unit) dexAsWritten(b []byte, pr *progress, src gown.Source) error {
	src.Section, src.Encoding = "dex string table", "mutf-8"
	known := 0 // bytes known to be in, to skip the lock on most strings
	ready := func(end int) bool {
		if end <= known {
			return true
		}
		if !pr.ready(end) {
			return false
		}
		known = end
		return true
	}
	// The bytecode is followed on a goroutine of its own as soon as the
	// whole dex is in, beside the end of the string scan; what it builds
	// is scanned here, on the unit's goroutine, once both are done.
	flowed := make(chan builtStrings, 1)
	go func() {
		var r builtStrings
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("dex data flow panic: %v", p)
			}
			flowed <- r
		}()
		if pr.ready(len(b)) {
			r.err = android.DexBuiltWith(b, u.resources(), func(bt android.Built) bool { r.built = append(r.built, bt); return true })
		}
	}()
	err := android.DexStringsAsWritten(b, ready, u.dexString(src))
	r := <-flowed
	if err != nil {
		return err
	}
	for _, bt := range r.built {
		u.builtDex(bt, src)
	}
	return r.err
}

// builtStrings is what the data flow over one dex gave.
type builtStrings struct {
	built []android.Built
	err   error
}

// dexFrom scans a dex of size bytes read from r as it inflates.
func (u *unit) dexFrom(r io.Reader, size int, src gown.Source) error {
	src.Section, src.Encoding = "dex string table", "mutf-8"
	return android.DexStringsFrom(r, size, u.dexString(src))
}

// arsc scans the global string pool of a resources.arsc, which holds every
// string value of every configuration (all locales), labelling each with
// the first resource that uses it. (The app's own table is parsed before
// the walk; this reads any other, such as a duplicate entry.)
func (u *unit) arsc(b []byte, src gown.Source) error {
	t, err := android.ParseTable(b)
	if t == nil {
		return err
	}
	u.tableStrings(t, src)
	return err
}

// tableEncoding names how a table holds its strings, for their sources.
func tableEncoding(t *android.Table) string {
	switch {
	case t.Strings == nil:
		return "protobuf"
	case t.Strings.UTF8():
		return "utf-8"
	}
	return "utf-16le"
}

// protoTable reads an app bundle module's resource table (aapt2
// protobuf), the AAB's resources.arsc.
func (u *unit) protoTable(b []byte, src gown.Source) error {
	t, err := android.ParseProtoTable(b)
	if t == nil {
		return err
	}
	u.tableStrings(t, src)
	return err
}

// tableStrings scans every string of a table. The table must be this
// unit's alone while it runs (its pool's Get is not safe for concurrent
// use): the archive's table is read by its own entry's unit only.
func (u *unit) tableStrings(t *android.Table, src gown.Source) {
	src.Encoding = tableEncoding(t)
	for i := range t.Len() {
		str, off := t.Get(i)
		r := src
		r.Offset, r.Section = int64(off), "string pool"
		if n := t.Names[uint32(i)]; n != "" {
			r.Section = n
			if n == "string/project_id" {
				u.project(str, r)
			}
		}
		u.scanString(str, r)
	}
}

// manifest reads identity and clear-text settings from a decoded
// manifest (binary or protobuf) and scans its strings. A split's manifest
// (split="config.x86") does not set the app's identity. It runs before
// the walk only (prepare), so it may read the table an earlier unit kept.
func (u *unit) manifest(x *android.XML, src gown.Source) {
	if x == nil {
		return
	}
	m := android.ReadManifest(x)
	if !isSplit(x) {
		u.effect(func(s *appScan) {
			if s.manifest == nil {
				s.manifest = m
				s.app.ID, s.app.Version, s.app.TargetSDK = m.Package, m.VersionName, m.TargetSDK
			}
		})
	}
	for _, md := range m.MetaData {
		v := md.Value
		if md.Type == android.TypeReference && u.s.table != nil {
			v, _ = u.s.table.String(md.Data)
		}
		r := src
		r.Section, r.Offset, r.Encoding = "meta-data "+md.Name, int64(md.Offset), "binary xml"
		u.scanString(v, r)
	}
	u.xmlStrings(x, src)
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
func (u *unit) axml(b []byte, src gown.Source) error {
	x, err := android.ParseXML(b)
	if x == nil {
		return err
	}
	u.xmlDoc(x, src)
	return err
}

// protoXML reads an app bundle's XML resource (aapt2 protobuf).
func (u *unit) protoXML(b []byte, src gown.Source) error {
	x, err := android.ParseProtoXML(b)
	if x == nil {
		return err
	}
	u.xmlDoc(x, src)
	return err
}

func (u *unit) xmlDoc(x *android.XML, src gown.Source) {
	if len(x.Elements) > 0 && x.Elements[0].Name == "widget" { // Cordova's res/xml/config.xml
		var facts []ownFact
		for i := range x.Elements {
			e := &x.Elements[i]
			a, _ := e.Attr(cordovaAttr[e.Name])
			facts = cordovaFact(facts, e.Name, a.Value)
		}
		u.own(facts)
	}
	if src.Entry == u.s.nscPath {
		nsc := android.ReadNetworkSecurity(x)
		u.effect(func(s *appScan) {
			if s.nsc == nil {
				s.nsc = nsc
			}
		})
	}
	u.xmlStrings(x, src)
}

// xmlStrings scans a document's string pool, or, for a protobuf document
// that has none, its attribute values and text.
func (u *unit) xmlStrings(x *android.XML, src gown.Source) {
	src.Section, src.Encoding = "binary xml strings", "binary xml"
	if x.Strings == nil {
		src.Encoding = "protobuf"
		for _, e := range x.Elements {
			r := src
			r.Section, r.Offset = e.Name, 0
			for _, a := range e.Attrs {
				u.scanString(a.Value, r)
			}
			u.scanString(e.Text, r)
		}
		return
	}
	for i := range x.Strings.Len() {
		str, off := x.Strings.Get(uint32(i))
		r := src
		r.Offset = int64(off)
		u.scanString(str, r)
	}
}

// project records a Firebase project id the app is configured with
// (project_id in resources, PROJECT_ID in GoogleService-Info.plist), and
// where it was read.
func (u *unit) project(id string, src gown.Source) {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 64 {
		return
	}
	u.effect(func(s *appScan) {
		if len(s.projects) < maxIdentity {
			s.projects = append(s.projects, id)
			s.projectSrc = append(s.projectSrc, src)
		}
	})
}

// signer records the first signing certificate's digest.
func (u *unit) signer(b []byte) error {
	d, subj, err := android.SignerInfo(b)
	if err == nil {
		u.effect(func(s *appScan) {
			if s.app.Signer == "" {
				s.app.Signer, s.subject = d, subj
			}
		})
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
		// Named but not found or not readable: a missed clear-text finding
		// is worse than a flagged one to check.
		return true, fmt.Sprintf("network security config %#x could not be read; clear text may be allowed", m.NetworkSecurityConfig)
	}
	if m := s.manifest; m != nil && m.Cleartext != nil {
		return *m.Cleartext, fmt.Sprintf("AndroidManifest.xml: android:usesCleartextTraffic=%t", *m.Cleartext)
	}
	return def, defWhy
}
