package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gownscan/gown/target"
)

// Bounds of an --exclude-file: a scope is checked for every target against
// every entry, so the list stays at a size that costs microseconds.
const (
	maxExcludeLine    = 4 << 10
	maxExcludeEntries = 65536
)

// excludeFile adds the networks and domains listed in the file name to
// scope: one per line, blank lines and # comments skipped.
func excludeFile(scope *target.Scope, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("--exclude-file: %w", err)
	}
	defer f.Close()
	return readExcludes(f, name, scope.Exclude)
}

// readExcludes reads an exclusion list, calling add for each entry; an
// entry add refuses is named by file and line.
func readExcludes(r io.Reader, name string, add func(string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxExcludeLine)
	line, n := 0, 0
	for sc.Scan() {
		line++
		entry, _, _ := strings.Cut(sc.Text(), "#")
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if n++; n > maxExcludeEntries {
			return fmt.Errorf("--exclude-file %s: more than %d entries", name, maxExcludeEntries)
		}
		if err := add(entry); err != nil {
			return fmt.Errorf("--exclude-file %s line %d: %w", name, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("--exclude-file %s line %d: longer than %d bytes", name, line+1, maxExcludeLine)
		}
		return fmt.Errorf("--exclude-file %s: %w", name, err)
	}
	return nil
}
