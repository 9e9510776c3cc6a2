package testbed

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// aptLock serialises package installs: parallel tests (and parallel Start
// goroutines) would otherwise run apt-get side by side and fail on the dpkg
// lock. A one-slot channel rather than a sync.Mutex so a waiter honours ctx.
var aptLock = make(chan struct{}, 1)

// aptUpdated records that this process already ran apt-get update, which is
// slow and needed at most once.
var aptUpdated bool

// sbinDirs are searched as well as PATH: mariadbd lives in /usr/sbin, which is
// not on a normal user's PATH, and a missing PATH entry must not trigger an
// install of something that is already there.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin"}

// LookBin returns the path of an installed program, looking in PATH and then
// in the sbin folders.
func LookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("testbed: %s not found in PATH or %s", name, strings.Join(sbinDirs, ", "))
}

// missing lists the programs of bins that are not installed.
func missing(bins []string) []string {
	var out []string
	for _, b := range bins {
		if _, err := LookBin(b); err != nil {
			out = append(out, b)
		}
	}
	return out
}

// Ensure makes sure the Debian package pkg is installed, judged by the
// programs bins it provides. When one is missing and the process runs as
// root, it installs pkg with apt-get and says so on log; otherwise it returns
// an error naming the package to install. Calls are serialised.
func Ensure(ctx context.Context, log io.Writer, pkg string, bins ...string) error {
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
	if os.Geteuid() != 0 {
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
