package extract

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android"
	"github.com/gownscan/gown/extract/internal/inflate"
)

// Real APKs that npm packages ship (Apache-2.0), fetched at test time with
// npm into a cache folder outside the repository, never committed. Each is
// read straight from the package tarball in memory.

type realApp struct {
	pkg, apk string
	id       string
}

// The endpoints and credentials each app gives are checked against
// testdata/real/APK.golden, one per line (kind, party, confidence, value,
// first source), all of them: a rule change that finds less, or more noise,
// shows as a diff. `go test -run TestRealAPKs -update` rewrites them.
var realApps = []realApp{
	{"android-apidemos@5.0.0", "package/apks/ApiDemos-debug.apk", "io.appium.android.apis"},
	{"io.appium.settings@8.0.10", "package/apks/settings_apk-debug.apk", "io.appium.settings"},
	{"appium-uiautomator2-server@10.6.6", "package/apks/appium-uiautomator2-server-v10.6.6.apk", "io.appium.uiautomator2.server"},
	{"appium-uiautomator2-server@10.6.6", "package/apks/appium-uiautomator2-server-debug-androidTest.apk", "io.appium.uiautomator2.server.test"},
}

var update = flag.Bool("update", false, "rewrite testdata/real/*.golden from what the real APKs give now")

// cacheDir is where npm tarballs are kept between runs.
func cacheDir(t testing.TB) string {
	if d := os.Getenv("GOWN_APP_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "gown", "apps")
}

// realAPK returns the APK's bytes, fetching the package once. Without npm
// the test is skipped locally and fails in CI.
func realAPK(t testing.TB, ra realApp) []byte {
	t.Helper()
	dir := cacheDir(t)
	name := strings.ReplaceAll(strings.TrimPrefix(ra.pkg, "@"), "@", "-") + ".tgz"
	tgz := filepath.Join(dir, name)
	if _, err := os.Stat(tgz); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("npm is needed in CI to fetch %s", ra.pkg)
			}
			t.Skipf("npm not found: cannot fetch %s", ra.pkg)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(npm, "pack", ra.pkg, "--pack-destination", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm pack %s: %v\n%s", ra.pkg, err, out)
		}
	}
	b, err := fromTarball(tgz, ra.apk)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fromTarball(tgz, member string) ([]byte, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		if h.Name == member {
			return io.ReadAll(io.LimitReader(tr, 512<<20))
		}
	}
}

func TestRealAPKs(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches packages with npm")
	}
	for _, ra := range realApps {
		t.Run(filepath.Base(ra.apk), func(t *testing.T) {
			b := realAPK(t, ra)
			app := readApp(t, b, filepath.Base(ra.apk))
			if app.ID != ra.id || app.Platform != "android" || app.Signer == "" || app.TargetSDK == 0 {
				t.Errorf("metadata: id %q platform %q signer %q sdk %d", app.ID, app.Platform, app.Signer, app.TargetSDK)
			}
			if len(app.Errors) > 0 {
				t.Errorf("errors: %q", app.Errors)
			}
			var got strings.Builder
			for _, e := range app.Endpoints {
				fmt.Fprintf(&got, "%-13s %-8s %.2f %s  (%s)\n", e.Kind, e.Party, e.Confidence, e.Value, where(e.Sources[0]))
				// These test apps have no back end: every URL they hold is an
				// SDK's, a spec's or a licence's, so nothing may be first-party.
				if e.FirstParty {
					t.Errorf("first-party endpoint in an app without a back end: %s", e.Value)
				}
			}
			fmt.Fprintf(&got, "identity %s\n", strings.Join(app.Identity, "; "))
			for _, c := range app.Credentials {
				fmt.Fprintf(&got, "credential %s %s  (%s)\n", c.Rule, c.Value, where(c.Sources[0]))
			}
			t.Logf("%s: %d endpoints, %d credentials:\n%s", ra.apk, len(app.Endpoints), len(app.Credentials), got.String())
			golden := filepath.Join("testdata", "real", filepath.Base(ra.apk)+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got.String() != string(want) {
				t.Errorf("%s differs from what the app gives now (-update rewrites it):\n--- want\n%s--- got\n%s", golden, want, got.String())
			}
		})
	}
}

func where(s gown.Source) string { return strings.TrimSpace(s.Entry + " " + s.Section) }

// BenchmarkRealAPK measures extraction of each real APK from memory;
// scripts/bench-extract.sh compares the whole command with
// `unzip -p APK > /dev/null`, which only inflates.
func BenchmarkRealAPK(b *testing.B) {
	for _, ra := range realApps {
		b.Run(strings.TrimSuffix(filepath.Base(ra.apk), ".apk"), func(b *testing.B) {
			data := realAPK(b, ra)
			x, _ := New(Config{Catalog: catalog})
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				x.Read(context.Background(), bytes.NewReader(data), int64(len(data)), "bench.apk")
			}
		})
	}
}

// BenchmarkInflateRealDex inflates the largest dex of each real APK with
// compress/flate and with internal/inflate, which gown uses.
func BenchmarkInflateRealDex(b *testing.B) {
	for _, ra := range realApps {
		data := realAPK(b, ra)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		var dex *zip.File
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, ".dex") && f.Method == zip.Deflate && (dex == nil || f.UncompressedSize64 > dex.UncompressedSize64) {
				dex = f
			}
		}
		if dex == nil {
			continue
		}
		out := make([]byte, dex.UncompressedSize64)
		name := strings.TrimSuffix(filepath.Base(ra.apk), ".apk")
		b.Run(name+"/compress-flate", func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				raw, _ := dex.OpenRaw()
				if _, err := io.ReadFull(flate.NewReader(bufio.NewReaderSize(raw, 64<<10)), out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/internal-inflate", func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				raw, _ := dex.OpenRaw()
				if err := inflate.Into(raw, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDexBuiltReal runs the run-time string data flow
// (android.DexBuilt) over every dex of each real APK, whole, and reports
// how many strings it built: the cost it would add to a dex past
// dexStreamMin, which is scanned as it inflates and not flowed.
func BenchmarkDexBuiltReal(b *testing.B) {
	for _, ra := range realApps {
		data := realAPK(b, ra)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		var dexes [][]byte
		size := 0
		for _, f := range zr.File {
			if strings.HasSuffix(f.Name, ".dex") {
				rc, err := f.Open()
				if err != nil {
					b.Fatal(err)
				}
				d, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					b.Fatal(err)
				}
				dexes, size = append(dexes, d), size+len(d)
			}
		}
		b.Run(strings.TrimSuffix(filepath.Base(ra.apk), ".apk"), func(b *testing.B) {
			b.SetBytes(int64(size))
			built := 0
			for b.Loop() {
				built = 0
				for _, d := range dexes {
					if err := android.DexBuilt(d, func(android.Built) bool { built++; return true }); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(built), "built/op")
		})
	}
}
