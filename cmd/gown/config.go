package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/pflag"
)

// configHelp is gown help config.
const configHelp = `Every flag of every command can be set in three places besides the command line.
The first that sets a flag wins:

  1. the command line                      gown scan --workers 512 HOSTS
  2. the environment, for one command      GOWN_SCAN_WORKERS=512
     the environment, for every command    GOWN_WORKERS=512
  3. the config file, in the command's     [scan]
     section                               workers = 512
     the config file, at the top           workers = 512
  4. the flag's default

Names: the flag's long name in capitals, dashes as underscores, after GOWN_ and,
for one command, its words (GOWN_FAIL_ON, GOWN_FLEET_REPORT_FORMAT). An empty
variable counts as unset. A flag that takes a list (--exclude, --resolve) takes
one item from the environment, and one per line from the file.

The config file is --config FILE, else $GOWN_CONFIG, else
$XDG_CONFIG_HOME/gown/config (~/.config/gown/config). It holds lines of
"flag = value" (a value may be a double-quoted string), "[command]" section
heads such as [scan] or [fleet report], blank lines and # comments. A key that
no command has, or that the section's command lacks, is an error, named by file
and line; a top-level key applies to each command that has the flag. The file
may be at most 1 MiB.

Example:
  # ~/.config/gown/config
  db = /srv/gown/results.db
  fail-on = high
  [scan]
  workers = 512
  exclude = 10.0.5.0/24
  exclude = corp.example
  [report]
  format = sarif
`

// Bounds of a config file: it is read whole before any command runs.
const (
	maxConfigBytes   = 1 << 20
	maxConfigLine    = 64 << 10
	maxConfigEntries = 10000
)

// lookupEnv is os.LookupEnv, where parseFlags reads the environment.
var lookupEnv = os.LookupEnv

// configEntry is one "flag = value" line of a config file.
type configEntry struct {
	section string // "" at the top, else a command's name
	// head is the line of the section's head, where a bad section is told.
	head  int
	key   string
	value string
	line  int
}

// configFile is a parsed config file.
type configFile struct {
	path    string
	entries []configEntry
}

// parseConfig reads a config file's lines. It checks the syntax only;
// applyDefaults checks the sections and keys against the commands.
func parseConfig(r io.Reader, path string) (*configFile, error) {
	cf := &configFile{path: path}
	lr := &io.LimitedReader{R: r, N: maxConfigBytes + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), maxConfigLine)
	section, head, n := "", 0, 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("config %s line %d: a section head ends with ]", path, n)
			}
			section, head = strings.Join(strings.Fields(line[1:len(line)-1]), " "), n
			if section == "" {
				return nil, fmt.Errorf("config %s line %d: empty section name", path, n)
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config %s line %d: want flag = value", path, n)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		key = strings.TrimPrefix(key, "--")
		if !flagName(key) {
			return nil, fmt.Errorf("config %s line %d: %q is not a flag name", path, n, truncate(key, 40))
		}
		if len(value) >= 2 && value[0] == '"' {
			uq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("config %s line %d: bad quoted value: %v", path, n, err)
			}
			value = uq
		}
		if len(cf.entries) == maxConfigEntries {
			return nil, fmt.Errorf("config %s: more than %d settings", path, maxConfigEntries)
		}
		cf.entries = append(cf.entries, configEntry{section: section, head: head, key: key, value: value, line: n})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("config %s line %d: longer than %d KiB", path, n+1, maxConfigLine>>10)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if lr.N == 0 {
		return nil, fmt.Errorf("config %s: larger than %d MiB", path, maxConfigBytes>>20)
	}
	return cf, nil
}

// flagName reports whether s can be a long flag name: lowercase letters,
// digits and inner dashes.
func flagName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// envWord is a command or flag name as it appears in a GOWN_ variable.
func envWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return '_'
		}
		return unicode.ToUpper(r)
	}, s)
}

// unsettable are the flags that no environment or file sets: --config
// names the file (GOWN_CONFIG is read as its value), --help is a request.
// Nor do they set a command's hidden flags (gown app's --list, --resume):
// those are refused when typed.
var unsettable = map[string]bool{"config": true, "help": true}

// applyDefaults fills the flags of command name that were not typed: from
// the environment first, then from the config file (configHelp).
func applyDefaults(fs *pflag.FlagSet, name string, env func(string) (string, bool)) error {
	typed := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { typed[f.Name] = true })
	var err error
	command := "GOWN_" + envWord(name) + "_"
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || typed[f.Name] || unsettable[f.Name] || f.Hidden {
			return
		}
		word := envWord(f.Name)
		for _, key := range []string{command + word, "GOWN_" + word} {
			if v, ok := env(key); ok && v != "" {
				if e := fs.Set(f.Name, v); e != nil {
					err = fmt.Errorf("%s=%q: %v", key, truncate(v, 80), e)
				}
				typed[f.Name] = true
				return
			}
		}
	})
	if err != nil {
		return err
	}
	cf, err := loadConfig(fs, env)
	if err != nil || cf == nil {
		return err
	}
	return cf.apply(fs, name, typed)
}

// loadConfig reads the config file the flags, the environment or the
// default place name; nil when the default file does not exist.
func loadConfig(fs *pflag.FlagSet, env func(string) (string, bool)) (*configFile, error) {
	path, explicit := "", true
	if f := fs.Lookup("config"); f != nil && f.Changed {
		path = f.Value.String()
	} else if v, ok := env("GOWN_CONFIG"); ok && v != "" {
		path = v
	} else {
		explicit = false
		dir, ok := env("XDG_CONFIG_HOME")
		if !ok || !filepath.IsAbs(dir) {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, nil // no home, no default file
			}
			dir = filepath.Join(home, ".config")
		}
		path = filepath.Join(dir, "gown", "config")
	}
	f, err := os.Open(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return parseConfig(f, path)
}

// apply sets the flags of command name that neither the command line nor
// the environment set: from the command's section, else from the top.
func (cf *configFile) apply(fs *pflag.FlagSet, name string, typed map[string]bool) error {
	known := allFlagNames()
	inSection := map[string]bool{}
	for _, e := range cf.entries {
		if e.section == "" {
			if !known[""][e.key] {
				return fmt.Errorf("config %s line %d: no command has --%s", cf.path, e.line, e.key)
			}
			continue
		}
		flags, ok := known[e.section]
		if !ok {
			return fmt.Errorf("config %s line %d: no command %q", cf.path, e.head, truncate(e.section, 40))
		}
		if !flags[e.key] {
			return fmt.Errorf("config %s line %d: gown %s has no --%s", cf.path, e.line, e.section, e.key)
		}
		if e.section == name {
			inSection[e.key] = true
		}
	}
	for _, e := range cf.entries {
		f := fs.Lookup(e.key)
		if f == nil || f.Hidden || typed[e.key] || unsettable[e.key] || (e.section == "" && inSection[e.key]) || (e.section != "" && e.section != name) {
			continue
		}
		if err := fs.Set(e.key, e.value); err != nil {
			return fmt.Errorf("config %s line %d: --%s: %v", cf.path, e.line, e.key, err)
		}
	}
	return nil
}

// allFlagNames maps each command (and "" for any) to its flag names.
func allFlagNames() map[string]map[string]bool {
	m := map[string]map[string]bool{"": {}}
	for _, d := range commandDocs {
		m[d.name] = map[string]bool{}
		describeFlags(d.name).VisitAll(func(f *pflag.Flag) {
			m[d.name][f.Name] = true
			m[""][f.Name] = true
		})
	}
	return m
}
