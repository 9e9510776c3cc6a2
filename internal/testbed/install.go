package testbed

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// aptLock serialises package installs: parallel tests (and parallel Start
// goroutines) would otherwise run apt-get side by side and fail on the dpkg
// lock. A one-slot channel rather than a sync.Mutex so a waiter honours ctx.
var aptLock = make(chan struct{}, 1)

// aptUpdated records that this process already ran apt-get update, which is
// slow and needed at most once.
var aptUpdated bool

// euid is os.Geteuid, a variable so that a test run as root (CI) can take
// the path of an ordinary user too.
var euid = os.Geteuid

// sbinDirs are searched as well as PATH: mariadbd lives in /usr/sbin, which is
// not on a normal user's PATH, and a missing PATH entry must not trigger an
// install of something that is already there.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// versionedDirs are searched last: Debian keeps PostgreSQL's server programs
// (initdb, postgres) off PATH in one folder per major version. The newest
// version wins.
var versionedDirs = []string{"/usr/lib/postgresql/*/bin"}

// LookBin returns the path of an installed program, looking in PATH, in the
// sbin folders, then in the newest of Debian's versioned PostgreSQL folders.
func LookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if isProgram(p) {
			return p, nil
		}
	}
	for _, g := range versionedDirs {
		found, _ := filepath.Glob(filepath.Join(g, name))
		slices.SortFunc(found, newerFirst)
		for _, p := range found {
			if isProgram(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("testbed: %s not found in PATH, %s or %s", name,
		strings.Join(sbinDirs, ", "), strings.Join(versionedDirs, ", "))
}

func isProgram(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// newerFirst orders paths that differ in a version folder
// (/usr/lib/postgresql/9.6/bin, .../15/bin) by that version, newest first,
// comparing the numbers as numbers.
func newerFirst(a, b string) int {
	va, vb := versionOf(a), versionOf(b)
	for i := 0; i < len(va) && i < len(vb); i++ {
		if va[i] != vb[i] {
			return vb[i] - va[i]
		}
	}
	return len(vb) - len(va)
}

// versionOf returns the dotted numbers of the first path element that is a
// version.
func versionOf(p string) []int {
	for _, el := range strings.Split(p, "/") {
		var v []int
		for _, f := range strings.Split(el, ".") {
			n, err := strconv.Atoi(f)
			if err != nil {
				v = nil
				break
			}
			v = append(v, n)
		}
		if v != nil {
			return v
		}
	}
	return nil
}

// missing lists the programs of bins that are not installed, and the
// entries with a slash (file globs) that match nothing.
func missing(bins []string) []string {
	var out []string
	for _, b := range bins {
		if strings.Contains(b, "/") {
			if m, _ := filepath.Glob(b); len(m) == 0 {
				out = append(out, b)
			}
		} else if _, err := LookBin(b); err != nil {
			out = append(out, b)
		}
	}
	return out
}

// Ensure makes sure the Debian package name is installed, judged by the
// programs bins it provides (or file globs: entries with a slash). When one is missing and the process runs as
// root, it installs the package with apt-get and says so on log; otherwise it returns
// an error naming the package to install. Calls are serialised.
func Ensure(ctx context.Context, log io.Writer, name string, bins ...string) error {
	return ensure(ctx, log, pkg{name: name, bins: bins})
}

// ensure is Ensure for one of the configs' packages.
func ensure(ctx context.Context, log io.Writer, p pkg) error {
	pkg, bins := p.name, p.bins
	if len(missing(bins)) == 0 {
		return nil
	}
	select {
	case aptLock <- struct{}{}:
		defer func() { <-aptLock }()
	case <-ctx.Done():
		return fmt.Errorf("testbed: waiting to install %s: %w", pkg, ctx.Err())
	}
	// Another caller may have installed it while this one waited.
	gone := missing(bins)
	if len(gone) == 0 {
		return nil
	}
	if euid() != 0 {
		return fmt.Errorf("testbed: %s not installed: run `sudo apt-get install -y %s`",
			strings.Join(gone, ", "), pkg)
	}
	if _, err := LookBin("apt-get"); err != nil {
		return fmt.Errorf("testbed: %s not installed and no apt-get to install package %s",
			strings.Join(gone, ", "), pkg)
	}
	if !aptUpdated && !aptKnows(ctx, pkg) {
		fmt.Fprintf(log, "testbed: apt-get update (package lists do not know %s)\n", pkg)
		if err := runApt(ctx, log, "update"); err != nil {
			return err
		}
		aptUpdated = true
	}
	fmt.Fprintf(log, "testbed: %s missing; apt-get install -y %s\n", strings.Join(gone, ", "), pkg)
	if err := runApt(ctx, log, "install", "-y", "--no-install-recommends", pkg); err != nil {
		return err
	}
	if gone := missing(bins); len(gone) > 0 {
		return fmt.Errorf("testbed: installed %s but %s still not found", pkg, strings.Join(gone, ", "))
	}
	return nil
}

// aptKnows reports whether the local package lists have an install candidate
// for pkg, so apt-get update runs only on a machine that never fetched them.
func aptKnows(ctx context.Context, pkg string) bool {
	out, err := exec.CommandContext(ctx, "apt-cache", "policy", pkg).Output()
	if err != nil {
		return false
	}
	s := string(out)
	return strings.Contains(s, "Candidate:") && !strings.Contains(s, "Candidate: (none)")
}

// runApt runs apt-get non-interactively, waiting for a dpkg lock held by
// another process (another test binary) instead of failing at once.
func runApt(ctx context.Context, log io.Writer, args ...string) error {
	full := append([]string{"-o", "DPkg::Lock::Timeout=300", "-q"}, args...)
	cmd := exec.CommandContext(ctx, "apt-get", full...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(&tail, log)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testbed: apt-get %s: %w: %s", strings.Join(args, " "), err, tail.String())
	}
	return nil
}

// tailBuffer keeps the last few KiB written to it, enough to explain a
// failure without holding a whole apt or server log in memory.
type tailBuffer struct{ b []byte }

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }
