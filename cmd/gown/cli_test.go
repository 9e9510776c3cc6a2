package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/spf13/pflag"
)

// gownRun runs gown in-process and returns its exit code, stdout and stderr.
func gownRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(t.Context(), args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// isolateConfig points the config file and the GOWN_ variables the tests
// set away from the user's own.
func isolateConfig(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("GOWN_CONFIG", "")
}

// TestHelpEveryCommand checks that every command has one help, the same
// from gown help CMD and gown CMD --help, on standard output with exit 0,
// starting with the usage line gown help lists.
func TestHelpEveryCommand(t *testing.T) {
	isolateConfig(t)
	code, top, _ := gownRun(t, "help")
	if code != exitOK {
		t.Fatalf("gown help: exit %d", code)
	}
	for _, d := range commandDocs {
		if !strings.Contains(top, "  "+d.name+" ") {
			t.Errorf("gown help does not list %q", d.name)
		}
		words := strings.Fields(d.name)
		code, help, errOut := gownRun(t, append([]string{"help"}, words...)...)
		if code != exitOK || errOut != "" {
			t.Errorf("gown help %s: exit %d, stderr %q", d.name, code, errOut)
		}
		if want := "Usage: " + d.usageLine() + "\n"; !strings.HasPrefix(help, want) {
			t.Errorf("gown help %s begins %q, want %q", d.name, help[:min(len(help), 80)], want)
		}
		if d.name == "help" {
			continue
		}
		code, flagHelp, errOut := gownRun(t, append(words, "--help")...)
		if code != exitOK || flagHelp != help || errOut != "" {
			t.Errorf("gown %s --help: exit %d, stderr %q; stdout differs from gown help %s: %v", d.name, code, errOut, d.name, flagHelp != help)
		}
	}
	if code, _, errOut := gownRun(t, "help", "nosuch"); code != exitUsage || !strings.Contains(errOut, `no command "nosuch"`) {
		t.Errorf("gown help nosuch: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := gownRun(t, "help", "fleet"); code != exitOK || !strings.Contains(out, "gown fleet report [SCAN] [flags]") {
		t.Errorf("gown help fleet: exit %d, %q", code, out)
	}
}

// TestConfigPrecedence runs gown scan with --fail-on set in every place at
// once and takes them away one by one: the value that reaches the flag is
// told by the error a bad severity gives, before anything is probed.
func TestConfigPrecedence(t *testing.T) {
	isolateConfig(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	writeConfig := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig("# gown config\nfail-on = top-of-file\n[scan]\nfail-on = \"scan-section\"\n[report]\nfail-on = report-section\n")
	t.Setenv("GOWN_CONFIG", cfg)
	t.Setenv("GOWN_FAIL_ON", "global-env")
	t.Setenv("GOWN_SCAN_FAIL_ON", "scan-env")
	base := []string{"scan", "--no-store", "-q", "127.0.0.1:1"}
	steps := []struct {
		name  string
		args  []string
		undo  func()
		value string
	}{
		{"flag", []string{"--fail-on", "typed-flag"}, func() {}, "typed-flag"},
		{"GOWN_SCAN_FAIL_ON", nil, func() { t.Setenv("GOWN_SCAN_FAIL_ON", "") }, "scan-env"},
		{"GOWN_FAIL_ON", nil, func() { t.Setenv("GOWN_FAIL_ON", "") }, "global-env"},
		{"[scan] in the file", nil, func() { writeConfig("fail-on = top-of-file\n[report]\nfail-on = report-section\n") }, "scan-section"},
		{"top of the file", nil, func() { writeConfig("[report]\nfail-on = report-section\n") }, "top-of-file"},
	}
	for _, s := range steps {
		code, _, errOut := gownRun(t, append(base, s.args...)...)
		if code != exitUsage || !strings.Contains(errOut, `"`+s.value+`"`) {
			t.Errorf("with the %s set: exit %d, stderr %q; want exit 2 naming %q", s.name, code, errOut, s.value)
		} else {
			t.Logf("%-20s → %s", s.name, strings.TrimSpace(errOut))
		}
		s.undo()
	}
	// Nothing left for gown scan: the default (no gate), exit 0.
	if code, _, errOut := gownRun(t, base...); code != exitOK {
		t.Errorf("with no --fail-on anywhere: exit %d, %s", code, errOut)
	}
	// --config beats GOWN_CONFIG.
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("fail-on = from-config-flag\n"), 0o600)
	if code, _, errOut := gownRun(t, append(base, "--config", other)...); code != exitUsage || !strings.Contains(errOut, "from-config-flag") {
		t.Errorf("--config FILE: exit %d, %q", code, errOut)
	}
}

// TestConfigErrors checks that a bad file or variable is refused by name,
// file and line, and that a named config file must exist.
func TestConfigErrors(t *testing.T) {
	isolateConfig(t)
	dir := t.TempDir()
	for _, c := range []struct {
		file, want string
	}{
		{"workers = 10\nworkerz = 10\n", "line 2: no command has --workerz"},
		{"[scna]\nworkers = 1\n", `line 1: no command "scna"`},
		{"[report]\nworkers = 1\n", "line 2: gown report has no --workers"},
		{"[scan]\nworkers = lots\n", "line 2: --workers"},
		{"just words\n", "line 1: want flag = value"},
		{"[scan\n", "line 1: a section head ends with ]"},
		{"x = \"unterminated\n", "line 1: bad quoted value"},
		{strings.Repeat("#", maxConfigLine+1) + "\n", "line 1: longer than 64 KiB"},
	} {
		p := filepath.Join(dir, "c")
		os.WriteFile(p, []byte(c.file), 0o600)
		code, _, errOut := gownRun(t, "scan", "--no-store", "--config", p, "127.0.0.1:1")
		if code != exitUsage || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, p) {
			t.Errorf("config %q: exit %d, stderr %q; want exit 2 naming %s and %q", c.file[:min(len(c.file), 40)], code, errOut, p, c.want)
		}
	}
	t.Setenv("GOWN_WORKERS", "lots")
	if code, _, errOut := gownRun(t, "scan", "--no-store", "127.0.0.1:1"); code != exitUsage || !strings.Contains(errOut, `GOWN_WORKERS="lots"`) {
		t.Errorf("GOWN_WORKERS=lots: exit %d, %q", code, errOut)
	}
	t.Setenv("GOWN_WORKERS", "")
	if code, _, errOut := gownRun(t, "scan", "--no-store", "--config", filepath.Join(dir, "missing"), "127.0.0.1:1"); code != exitUsage || !strings.Contains(errOut, "missing") {
		t.Errorf("--config of a missing file: exit %d, %q", code, errOut)
	}
}

// TestConfigLists: a list flag takes one item from the environment and one
// per line of the file; a hidden flag (gown app's --resume) is not set by
// either.
func TestConfigLists(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var f scanFlags
	f.register(fs)
	_ = fs.MarkHidden("resume")
	cfg := filepath.Join(t.TempDir(), "config")
	os.WriteFile(cfg, []byte("[scan]\nexclude = 10.0.0.0/8\nexclude = corp.example\nresume = 7\n"), 0o600)
	env := map[string]string{"GOWN_CONFIG": cfg, "GOWN_RESOLVE": "api.example.app=203.0.113.7"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := applyDefaults(fs, "scan", lookup); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.exclude, " ") != "10.0.0.0/8 corp.example" || strings.Join(f.resolve, " ") != "api.example.app=203.0.113.7" {
		t.Errorf("exclude %q, resolve %q", f.exclude, f.resolve)
	}
	if fs.Changed("resume") {
		t.Errorf("the file set the hidden --resume")
	}
}

// TestProbersCommand: gown probers lists every prober with its ports and
// schemes, --json as one object each, and a bad --probers name lists them.
func TestProbersCommand(t *testing.T) {
	isolateConfig(t)
	code, out, _ := gownRun(t, "probers")
	if code != exitOK || !strings.Contains(out, "redis") || !strings.Contains(out, "6379,6380") || !strings.Contains(out, "rediss://:6379 (TLS)") {
		t.Errorf("gown probers: exit %d\n%s", code, out)
	}
	t.Logf("gown probers:\n%s", out)
	code, out, _ = gownRun(t, "probers", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != len(proberNames()) {
		t.Fatalf("gown probers --json: exit %d, %d lines for %d probers", code, len(lines), len(proberNames()))
	}
	var p proberJSON
	if err := json.Unmarshal([]byte(lines[0]), &p); err != nil || p.Name == "" {
		t.Errorf("first line %q: %v", lines[0], err)
	}
	code, _, errOut := gownRun(t, "scan", "--no-store", "--probers", "redis,nosuch", "127.0.0.1:1")
	// The list is the registry's order (detection's), which new probers
	// change: every name must be in it, in whatever order.
	if code != exitUsage || !strings.Contains(errOut, `no prober named "nosuch"; the probers are `) {
		t.Errorf("--probers nosuch: exit %d, %q", code, errOut)
	}
	for _, name := range proberNames() {
		if !strings.Contains(errOut, " "+name+",") && !strings.Contains(errOut, " "+name+" (") {
			t.Errorf("--probers nosuch: %s not listed in %q", name, errOut)
		}
	}
}

// TestVersionCommand: gown version from the build information, and as JSON.
func TestVersionCommand(t *testing.T) {
	isolateConfig(t)
	code, out, _ := gownRun(t, "version")
	if code != exitOK || !strings.HasPrefix(out, "gown ") || !strings.Contains(out, "built  with go") {
		t.Errorf("gown version: exit %d, %q", code, out)
	}
	code, out, _ = gownRun(t, "version", "--json")
	var v struct{ Version, Go string }
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || v.Version == "" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("gown version --json: exit %d, %q, %v", code, out, err)
	}
	if code, out2, _ := gownRun(t, "--version"); code != exitOK || out2 == "" {
		t.Errorf("gown --version: exit %d", code)
	}
}

// TestManPage: gown man is valid roff that groff formats without a warning,
// and names every command and flag.
func TestManPage(t *testing.T) {
	isolateConfig(t)
	code, page, _ := gownRun(t, "man")
	if code != exitOK || !strings.HasPrefix(page, ".TH GOWN 1") {
		t.Fatalf("gown man: exit %d", code)
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("no groff to format the page")
	}
	cmd := exec.CommandContext(t.Context(), groff, "-man", "-Tutf8", "-ww")
	cmd.Stdin = strings.NewReader(page)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("groff: %v: %s", err, errb.String())
	}
	// Bold and underline come as overstrikes (X\bX, _\bX): keep the letters.
	text := regexp.MustCompile(".\b").ReplaceAllString(out.String(), "")
	for _, want := range []string{"gown scan [TARGET...] [flags]", "--exclude-file FILE", "GOWN_SCAN_WORKERS", "EXIT STATUS"} {
		// groff renders - as a Unicode hyphen in utf8; compare without.
		if !strings.Contains(strings.ReplaceAll(text, "‐", "-"), want) {
			t.Errorf("formatted man page lacks %q", want)
		}
	}
}

// TestScanStdinPipeAndOutput scans the real Redis of the test bed with the
// target on a piped stdin and no target argument, results written to -o
// FILE (stdout stays empty); an --exclude-file naming the address leaves
// no target (exit 2), and stdin that is not a pipe is not read.
func TestScanStdinPipeAndOutput(t *testing.T) {
	isolateConfig(t)
	bed := testbed.Require(t, "redis-open")
	addr := bed.Get("redis-open").Addr
	pipe := func(s string) *os.File {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { w.WriteString(s); w.Close() }()
		t.Cleanup(func() { r.Close() })
		return r
	}
	dir := t.TempDir()
	outFile := filepath.Join(dir, "results.jsonl")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"scan", "--json", "--no-store", "-o", outFile}, pipe("# from a pipe\n"+addr.String()+"\n"), &out, &errb)
	got, _ := os.ReadFile(outFile)
	if code != exitOK || out.Len() != 0 || !strings.Contains(string(got), `"store":"redis"`) || !strings.Contains(string(got), `"status":"open"`) {
		t.Fatalf("piped scan: exit %d, stdout %q, stderr %s, file %s", code, out.String(), errb.String(), got)
	}
	excl := filepath.Join(dir, "exclude.txt")
	os.WriteFile(excl, []byte("# never these\n10.0.0.0/8\n"+addr.Addr().String()+"  # the bed\n"), 0o600)
	out.Reset()
	errb.Reset()
	code = run(t.Context(), []string{"scan", "--json", "--no-store", "--exclude-file", excl}, pipe(addr.String()+"\n"), &out, &errb)
	if code != exitUsage || out.Len() != 0 {
		t.Errorf("excluded target: exit %d, stdout %q, stderr %q; want exit 2 and no result", code, out.String(), errb.String())
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	errb.Reset()
	if code := run(t.Context(), []string{"scan", "--no-store"}, devnull, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "no targets") {
		t.Errorf("scan with /dev/null on stdin: exit %d, %q; want no targets", code, errb.String())
	}
}

// TestReadExcludes checks the exclusion list reader's bounds and errors.
func TestReadExcludes(t *testing.T) {
	var got []string
	add := func(s string) error {
		if s == "bad" {
			return errors.New("refused")
		}
		got = append(got, s)
		return nil
	}
	if err := readExcludes(strings.NewReader("a.example\n\n# c\n 10.0.0.0/8 # net\n"), "f", add); err != nil || strings.Join(got, ",") != "a.example,10.0.0.0/8" {
		t.Errorf("got %q, %v", got, err)
	}
	if err := readExcludes(strings.NewReader("ok\nbad\n"), "f", add); err == nil || !strings.Contains(err.Error(), "f line 2: refused") {
		t.Errorf("bad entry: %v", err)
	}
	if err := readExcludes(strings.NewReader(strings.Repeat("x", maxExcludeLine+1)), "f", add); err == nil || !strings.Contains(err.Error(), "line 1: longer") {
		t.Errorf("long line: %v", err)
	}
	if err := readExcludes(strings.NewReader(strings.Repeat("a\n", maxExcludeEntries+1)), "f", func(string) error { return nil }); err == nil {
		t.Errorf("%d entries accepted", maxExcludeEntries+1)
	}
}

// FuzzParseConfig: any config file is parsed or refused, within bounds,
// never a panic; what parses has valid flag names only.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("db = x\n[scan]\nworkers = 4\nexclude = \"a b\"\n"))
	f.Add([]byte("[fleet report]\n--format=html\n# c\n; c\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cf, err := parseConfig(bytes.NewReader(b), "fuzz")
		if err != nil {
			return
		}
		for _, e := range cf.entries {
			if !flagName(e.key) || e.line < 1 {
				t.Fatalf("entry %+v", e)
			}
		}
		if len(cf.entries) > maxConfigEntries {
			t.Fatalf("%d entries", len(cf.entries))
		}
	})
}

// FuzzReadExcludes: an exclusion list is read or refused, never a panic,
// and every entry handed on is trimmed and free of comments.
func FuzzReadExcludes(f *testing.F) {
	f.Add([]byte("10.0.0.0/8\ncorp.example # c\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = readExcludes(bytes.NewReader(b), "fuzz", func(s string) error {
			if s == "" || strings.Contains(s, "#") || strings.TrimSpace(s) != s {
				t.Fatalf("entry %q", s)
			}
			return nil
		})
	})
}

// TestAppJSONIntoReport pipes gown app --json into gown report --from -:
// the app's object is read as an app (its findings as the app's, not as a
// service with an empty address), and --format jsonl gives back every line.
func TestAppJSONIntoReport(t *testing.T) {
	isolateConfig(t)
	p := writeAPK(t, t.TempDir(), "k.apk", "http://api.k-gown.net/v1", "redis://admin:hunter2secret@cache.k-gown.net:6379")
	code, appOut, errOut := gownRun(t, "app", p, "--extract-only", "--json", "--no-store")
	if code != exitOK {
		t.Fatalf("gown app: exit %d: %s", code, errOut)
	}
	report := func(format string) string {
		var out, errb bytes.Buffer
		if code := run(t.Context(), []string{"report", "--from", "-", "--format", format}, strings.NewReader(appOut), &out, &errb); code != exitOK {
			t.Fatalf("gown report --from - --format %s: exit %d: %s", format, code, errb.String())
		}
		return out.String()
	}
	table := report("table")
	if !regexp.MustCompile(`(?m)^com\.gown\.k +app `).MatchString(table) || strings.Count(table, "! MEDIUM") != 2 || strings.Contains(table, "\n:0 ") {
		t.Errorf("table from gown app --json:\n%s", table)
	}
	if back := report("jsonl"); back != appOut {
		t.Errorf("jsonl round trip differs:\n got %s\nwant %s", back, appOut)
	}
}
