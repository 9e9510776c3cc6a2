package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// tool is something a configuration needs that no Debian package gives: an
// npm package, the FerretDB build, the Java launcher's Maven build. ensure
// makes it ready (installing or building when missing) and is idempotent;
// tools with the same name run once per ensureConfigs.
type tool struct {
	name   string
	ensure func(ctx context.Context, log io.Writer) error
}

// cacheDir is where tools are installed and built: outside the repository,
// shared by every test binary and by `gown demo`, and kept between runs.
func cacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	d := filepath.Join(base, "gown-testbed")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("testbed: cache dir: %w", err)
	}
	return d, nil
}

// withFileLock runs fn holding an exclusive lock on the file path, so that
// parallel test binaries do not install or build the same tool at once. A
// waiter gives up when ctx is done.
func withFileLock(ctx context.Context, path string, fn func() error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("testbed: lock %s: %w", path, err)
	}
	defer f.Close()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("testbed: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testbed: waiting for %s: %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

// sourceDir returns a folder of this package's source tree (the Maven
// project, the FerretDB tools module): found from where this file was
// compiled, or, in a binary built with -trimpath, by walking up from the
// working folder to the module root.
func sourceDir(rel string) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		d := filepath.Join(filepath.Dir(file), rel)
		if _, err := os.Stat(d); err == nil {
			return d, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testbed: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "internal", "testbed", rel)
		if _, err := os.Stat(cand); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testbed: internal/testbed/%s not found from %s: run from the gown source tree", rel, wd)
		}
	}
}

// npmPackage is one pinned npm install into its own folder of the cache,
// never into the repository. --ignore-scripts: no install script fetches
// anything; native modules run from the prebuilds the packages ship.
type npmPackage struct {
	dir   string   // folder under the cache
	specs []string // name@version, as npm install takes them
	main  string   // the script to run, relative to dir
}

// ensure installs the packages unless main is already there.
func (n npmPackage) ensure(ctx context.Context, log io.Writer) error {
	_, err := n.path(ctx, log)
	return err
}

// path returns the script to run, installing first when needed.
func (n npmPackage) path(ctx context.Context, log io.Writer) (string, error) {
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, n.dir)
	bin := filepath.Join(dir, n.main)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("testbed: %w", err)
	}
	err = withFileLock(ctx, dir+".lock", func() error {
		if _, err := os.Stat(bin); err == nil {
			return nil // another process installed it meanwhile
		}
		for _, b := range []string{"node", "npm"} {
			if _, err := LookBin(b); err != nil {
				return err
			}
		}
		pj := filepath.Join(dir, "package.json")
		if _, err := os.Stat(pj); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(pj, []byte(`{"name":"gown-testbed-`+filepath.Base(n.dir)+`","private":true}`+"\n"), 0o644); err != nil {
				return fmt.Errorf("testbed: %w", err)
			}
		}
		began := time.Now()
		fmt.Fprintf(log, "testbed: npm install %s into %s\n", strings.Join(n.specs, " "), dir)
		args := append([]string{"install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier"}, n.specs...)
		cmd := exec.CommandContext(ctx, "npm", args...)
		cmd.Dir = dir
		cmd.Stdin = nil
		var tail tailBuffer
		cmd.Stdout, cmd.Stderr = &tail, &tail
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("testbed: npm install %s: %w: %s", strings.Join(n.specs, " "), err, tail.String())
		}
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("testbed: npm installed %s but %s is missing", strings.Join(n.specs, " "), bin)
		}
		fmt.Fprintf(log, "testbed: npm install done in %s\n", time.Since(began).Round(time.Second))
		return nil
	})
	return bin, err
}

// nodePackages are the Debian packages that run the npm servers.
var nodePackages = []pkg{{"nodejs", []string{"node"}}, {"npm", []string{"npm"}}}
