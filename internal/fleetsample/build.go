package fleetsample

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gownscan/gown/extract/android/androidtest"
	"howett.net/plist"
)

// Ports gives the port each back end's test-bed server listens on, by
// testbed configuration name.
type Ports map[string]uint16

// Strings are what app a holds: the URL of each back end on its port, and
// for Acme People a database password in its connection string (a
// hard-coded credential its own code is graded for).
func (a App) Strings(ports Ports) ([]string, error) {
	var out []string
	for _, b := range a.Backends {
		p, ok := ports[b.Bed]
		if !ok {
			return nil, fmt.Errorf("fleetsample: no port for %s (%s)", b.Bed, b.Host)
		}
		u := b.URL(p)
		if b == HRDB && a.ID == "com.acme.people" {
			u = strings.Replace(u, "://", "://hr_app:Winter2024-hr@", 1)
		}
		out = append(out, u)
	}
	return out, nil
}

// FileName is the binary's file name.
func (a App) FileName() string {
	if a.Platform == "ios" {
		return a.ID + "-" + a.Version + ".ipa"
	}
	return a.ID + "-" + a.Version + ".apk"
}

// WriteBinaries builds every binary of f into dir and returns their paths.
func WriteBinaries(f Fleet, dir string, ports Ports) ([]string, error) {
	var out []string
	for _, a := range f.Binaries() {
		strs, err := a.Strings(ports)
		if err != nil {
			return nil, err
		}
		var b []byte
		if a.Platform == "ios" {
			b, err = IPA(a, strs)
		} else {
			b, err = APK(a, strs)
		}
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, a.FileName())
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// APK builds an Android app: a binary manifest with the package, version
// and target SDK, and a dex whose string table holds strs.
func APK(a App, strs []string) ([]byte, error) {
	manifest := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{
		{Name: "package", Str: a.ID}, {Name: "versionName", Str: a.Version, ResID: 0x0101021c}},
		Children: []androidtest.Node{{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: 0x10, Data: 34, ResID: 0x01010270}}}}})
	return zipOf(map[string][]byte{"AndroidManifest.xml": manifest, "classes.dex": androidtest.Dex(append([]string{"Lcom/acme/Main;"}, strs...))})
}

// IPA builds an iOS app: an Info.plist with the bundle id, the version and
// the back ends under the app's own keys, as in-house apps configure them.
func IPA(a App, strs []string) ([]byte, error) {
	info := map[string]any{"CFBundleIdentifier": a.ID, "CFBundleShortVersionString": a.Version, "CFBundleVersion": build(a.Version),
		"CFBundleExecutable": "Acme", "CFBundleName": a.Name}
	for i, s := range strs {
		info[fmt.Sprintf("AcmeBackend%d", i+1)] = s
	}
	b, err := plist.Marshal(info, plist.XMLFormat)
	if err != nil {
		return nil, err
	}
	return zipOf(map[string][]byte{"Payload/Acme.app/Info.plist": b})
}

func zipOf(entries map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// A fixed order: the same app builds to the same bytes.
	for _, name := range []string{"AndroidManifest.xml", "classes.dex", "Payload/Acme.app/Info.plist"} {
		data, ok := entries[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
