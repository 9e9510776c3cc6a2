package testbed

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAptGet logs each call (arguments and DEBIAN_FRONTEND) and, on
// install, creates the program $FAKE_PROVIDES in $FAKE_BIN, or fails as
// apt-get does for an unknown package when $FAKE_FAIL is set.
const fakeAptGet = `#!/bin/sh
echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >>"$FAKE_LOG"
case " $* " in
*" install "*)
	if [ -n "$FAKE_FAIL" ]; then echo "E: Unable to locate package $FAKE_FAIL"; exit 100; fi
	if [ -n "$FAKE_PROVIDES" ]; then
		printf '#!/bin/sh\n' >"$FAKE_BIN/$FAKE_PROVIDES"
		chmod 755 "$FAKE_BIN/$FAKE_PROVIDES"
	fi
	echo "Setting up $FAKE_PROVIDES";;
esac
`

// fakeAptCache answers apt-cache policy with a candidate when $FAKE_KNOWN
// is set, as after an apt-get update.
const fakeAptCache = `#!/bin/sh
echo "apt-cache $*" >>"$FAKE_LOG"
if [ -n "$FAKE_KNOWN" ]; then echo "  Candidate: 1.0"; else echo "  Candidate: (none)"; fi
`

// fakeApt puts a fake apt-get and apt-cache first on PATH, keeps the sbin
// and versioned folders out of LookBin, and returns the folder the fake
// installs into and a function reading the calls logged so far.
func fakeApt(t *testing.T) (bin string, calls func() []string) {
	bin = t.TempDir()
	logf := filepath.Join(t.TempDir(), "apt.log")
	for name, script := range map[string]string{"apt-get": fakeAptGet, "apt-cache": fakeAptCache} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":/usr/bin:/bin")
	t.Setenv("FAKE_BIN", bin)
	t.Setenv("FAKE_LOG", logf)
	t.Setenv("FAKE_PROVIDES", "gown-fake-prog")
	t.Setenv("FAKE_KNOWN", "1")
	t.Setenv("FAKE_FAIL", "")
	sbin, versioned, updated, uid := sbinDirs, versionedDirs, aptUpdated, euid
	sbinDirs, versionedDirs, aptUpdated = nil, nil, false
	t.Cleanup(func() { sbinDirs, versionedDirs, aptUpdated, euid = sbin, versioned, updated, uid })
	return bin, func() []string {
		b, err := os.ReadFile(logf)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
}

const installCall = "apt-get -o DPkg::Lock::Timeout=300 -q install -y --no-install-recommends gown-fake-pkg DEBIAN_FRONTEND=noninteractive"

// TestEnsure takes each path of Ensure against a fake apt-get, as root and
// as an ordinary user whoever runs it: CI runs as root, where a real
// missing program would really be installed.
func TestEnsure(t *testing.T) {
	asRoot := func() { euid = func() int { return 0 } }

	t.Run("Installed", func(t *testing.T) {
		_, calls := fakeApt(t)
		asRoot()
		if err := Ensure(t.Context(), io.Discard, "coreutils", "ls", "/usr/bin/l*"); err != nil {
			t.Fatal(err)
		}
		if c := calls(); c != nil {
			t.Errorf("apt ran for installed programs: %q", c)
		}
	})

	t.Run("RootInstalls", func(t *testing.T) {
		bin, calls := fakeApt(t)
		asRoot()
		var log bytes.Buffer
		if err := Ensure(t.Context(), &log, "gown-fake-pkg", "gown-fake-prog"); err != nil {
			t.Fatal(err)
		}
		want := []string{"apt-cache policy gown-fake-pkg", installCall}
		if c := calls(); strings.Join(c, "\n") != strings.Join(want, "\n") {
			t.Errorf("apt calls %q, want %q", c, want)
		}
		if !strings.Contains(log.String(), "testbed: gown-fake-prog missing; apt-get install -y gown-fake-pkg") {
			t.Errorf("log does not say what it installs: %q", log.String())
		}
		if p, err := LookBin("gown-fake-prog"); err != nil || p != filepath.Join(bin, "gown-fake-prog") {
			t.Errorf("LookBin after the install: %q, %v", p, err)
		}
		// Installed now: a second call runs nothing.
		if err := Ensure(t.Context(), &log, "gown-fake-pkg", "gown-fake-prog"); err != nil || len(calls()) != 2 {
			t.Errorf("second Ensure: %v, apt calls %q", err, calls())
		}
	})

	t.Run("RootInstallsGlob", func(t *testing.T) {
		bin, calls := fakeApt(t)
		asRoot()
		if err := Ensure(t.Context(), io.Discard, "gown-fake-pkg", filepath.Join(bin, "gown-fake-*")); err != nil {
			t.Fatal(err)
		}
		if c := calls(); len(c) != 2 || c[1] != installCall {
			t.Errorf("apt calls %q, want policy then %q", c, installCall)
		}
	})

	t.Run("UpdateOnceWhenListsLackThePackage", func(t *testing.T) {
		_, calls := fakeApt(t)
		asRoot()
		aptUpdated = false
		t.Setenv("FAKE_KNOWN", "")
		if err := Ensure(t.Context(), io.Discard, "gown-fake-pkg", "gown-fake-prog"); err != nil {
			t.Fatal(err)
		}
		t.Setenv("FAKE_PROVIDES", "gown-fake-other")
		if err := Ensure(t.Context(), io.Discard, "gown-fake-pkg", "gown-fake-other"); err != nil {
			t.Fatal(err)
		}
		want := []string{"apt-cache policy gown-fake-pkg",
			"apt-get -o DPkg::Lock::Timeout=300 -q update DEBIAN_FRONTEND=noninteractive",
			installCall, installCall}
		if c := calls(); strings.Join(c, "\n") != strings.Join(want, "\n") {
			t.Errorf("apt calls %q, want %q", c, want)
		}
	})

	t.Run("InstalledButStillMissing", func(t *testing.T) {
		fakeApt(t)
		asRoot()
		t.Setenv("FAKE_PROVIDES", "")
		err := Ensure(t.Context(), io.Discard, "gown-fake-pkg", "gown-fake-prog")
		if err == nil || !strings.Contains(err.Error(), "installed gown-fake-pkg but gown-fake-prog still not found") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("AptFails", func(t *testing.T) {
		fakeApt(t)
		asRoot()
		t.Setenv("FAKE_FAIL", "gown-fake-pkg")
		err := Ensure(t.Context(), io.Discard, "gown-fake-pkg", "gown-fake-prog")
		if err == nil || !strings.Contains(err.Error(), "apt-get install -y --no-install-recommends gown-fake-pkg: exit status 100") ||
			!strings.Contains(err.Error(), "E: Unable to locate package gown-fake-pkg") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("NotRoot", func(t *testing.T) {
		_, calls := fakeApt(t)
		euid = func() int { return 1000 }
		err := Ensure(t.Context(), io.Discard, "gown-fake-pkg", "gown-fake-prog")
		if err == nil || !strings.Contains(err.Error(), "gown-fake-prog not installed: run `sudo apt-get install -y gown-fake-pkg`") {
			t.Errorf("got %v", err)
		}
		if c := calls(); c != nil {
			t.Errorf("apt ran for an ordinary user: %q", c)
		}
	})

	t.Run("NoAptGet", func(t *testing.T) {
		fakeApt(t)
		asRoot()
		t.Setenv("PATH", t.TempDir())
		err := Ensure(t.Context(), io.Discard, "gown-fake-pkg", "gown-fake-prog")
		if err == nil || !strings.Contains(err.Error(), "no apt-get to install package gown-fake-pkg") {
			t.Errorf("got %v", err)
		}
	})

	t.Run("WaitHonoursContext", func(t *testing.T) {
		_, calls := fakeApt(t)
		asRoot()
		aptLock <- struct{}{} // another install in progress
		defer func() { <-aptLock }()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := Ensure(ctx, io.Discard, "gown-fake-pkg", "gown-fake-prog")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if c := calls(); c != nil {
			t.Errorf("apt ran without the lock: %q", c)
		}
	})
}
