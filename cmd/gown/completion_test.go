package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyShell is an interactive shell on a pseudo-terminal, 200 columns wide.
type ptyShell struct {
	t      *testing.T
	term   *os.File
	screen syncBuffer
}

// startShell starts argv on a new pseudo-terminal. Without a pty (no
// devpts) it skips on a developer's machine and fails in CI (CI=true).
func startShell(t *testing.T, env []string, argv ...string) *ptyShell {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pty: %v", err)
		}
		t.Skipf("no pty (set CI=true to fail instead): %v", err)
	}
	sh := &ptyShell{t: t, term: term}
	go io.Copy(&sh.screen, term)
	t.Cleanup(func() {
		term.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return sh
}

// wait returns what the terminal showed after from once it holds all of
// want, or fails after 10 s.
func (sh *ptyShell) wait(from int, what string, want ...string) string {
	sh.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := sh.screen.String()[from:]
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			sh.t.Fatalf("%s: the terminal never showed %q; it showed %q", what, want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// completionCase is a line typed up to a Tab and what the terminal must
// show then.
type completionCase struct {
	typed string
	want  []string
}

// completionCases hold for bash and zsh alike.
var completionCases = []completionCase{
	{"gown sc\t", []string{"scan", "scans"}},                                              // two commands: both listed
	{"gown fle\t", []string{"gown fleet "}},                                               // one command: completed
	{"gown fleet \t", []string{"import", "report", "scan"}},                               // subcommands
	{"gown scan --work\t", []string{"gown scan --workers "}},                              // a flag
	{"gown scan --exclude-f\t", []string{"--exclude-file "}},                              // a new flag
	{"gown report --format \t", []string{"csv", "html", "jsonl", "md", "sarif", "table"}}, // a flag's values
	{"gown scan --fail-on h\t", []string{"--fail-on high "}},                              // one value: completed
	{"gown fleet import inv\t", []string{"inventory-intune.csv"}},                         // a file operand
	{"gown scan -o inv\t", []string{"-o inventory-intune.csv"}},                           // a file flag
	{"gown db \t", []string{"migrate", "path", "prune", "vacuum"}},                        // fixed operands
	{"gown completion \t", []string{"bash", "fish", "zsh"}},
}

// press types each case, checks the screen, and clears the line (Ctrl-U).
func (sh *ptyShell) press(cases []completionCase) {
	for _, c := range cases {
		from := len(sh.screen.String())
		io.WriteString(sh.term, c.typed)
		got := sh.wait(from, strings.TrimSpace(c.typed), c.want...)
		sh.t.Logf("%-28q → %q", c.typed, strings.TrimSpace(strings.ReplaceAll(got, "\r\n", " | ")))
		io.WriteString(sh.term, "\x15")
	}
}

// completionDir writes gown's completion script for shell into a new
// directory that also holds a file to complete, and returns both paths.
func completionDir(t *testing.T, shell, name string) (dir, script string) {
	t.Helper()
	isolateConfig(t)
	if _, err := exec.LookPath(shell); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s (make deps installs it)", shell)
		}
		t.Skipf("no %s", shell)
	}
	dir = t.TempDir()
	code, text, _ := gownRun(t, "completion", shell)
	if code != exitOK {
		t.Fatalf("gown completion %s: exit %d", shell, code)
	}
	script = filepath.Join(dir, name)
	os.WriteFile(script, []byte(text), 0o600)
	os.WriteFile(filepath.Join(dir, "inventory-intune.csv"), nil, 0o600)
	return dir, script
}

// TestBashCompletionInPTY sources gown completion bash into an interactive
// bash on a pseudo-terminal and presses Tab the way a user does: commands,
// subcommands, flags, flag values and file names are completed by bash's
// own readline.
func TestBashCompletionInPTY(t *testing.T) {
	dir, script := completionDir(t, "bash", "gown.bash")
	rc := filepath.Join(dir, "rc")
	// One Tab lists every candidate; no bell, no pager.
	os.WriteFile(rc, []byte("PS1='$ '\nbind 'set show-all-if-ambiguous on'\nbind 'set bell-style none'\n"+
		"bind 'set page-completions off'\nbind 'set completion-query-items 1000'\nsource "+script+"\ncd "+dir+"\n"), 0o600)
	sh := startShell(t, []string{"TERM=dumb", "HISTFILE=/dev/null", "INPUTRC=/dev/null"}, "bash", "--noprofile", "--rcfile", rc, "-i")
	sh.wait(0, "prompt", "$ ")
	sh.press(completionCases)
}

// TestZshCompletionInPTY installs gown completion zsh as _gown on the
// fpath of an interactive zsh with compinit, and presses Tab.
func TestZshCompletionInPTY(t *testing.T) {
	dir, _ := completionDir(t, "zsh", "_gown")
	os.WriteFile(filepath.Join(dir, ".zshrc"), []byte("PS1='$ '\nfpath=("+dir+" $fpath)\nautoload -U compinit && compinit -u -D\n"+
		"setopt no_beep no_list_ambiguous\nLISTMAX=1000\nzstyle ':completion:*' list-prompt ''\ncd "+dir+"\n"), 0o600)
	sh := startShell(t, []string{"TERM=dumb", "ZDOTDIR=" + dir, "HISTFILE=/dev/null"}, "zsh", "-i")
	sh.wait(0, "prompt", "$ ")
	sh.press(completionCases)
}

// TestFishCompletion asks fish's own completion engine (complete -C) what
// it offers with gown completion fish loaded.
func TestFishCompletion(t *testing.T) {
	dir, script := completionDir(t, "fish", "gown.fish")
	for _, c := range []completionCase{
		{"gown sc", []string{"scan\tprobe hosts", "scans\t"}},
		{"gown fleet ", []string{"import", "report", "scan"}},
		{"gown scan --work", []string{"--workers\ttargets probed at once"}},
		{"gown report --format ", []string{"csv", "html", "jsonl", "md", "sarif", "table"}},
		{"gown fleet report --v", []string{"--view"}},
		{"gown scan --fail-on h", []string{"high"}},
		{"gown fleet import inv", []string{"inventory-intune.csv"}},
		{"gown scan -o inv", []string{"inventory-intune.csv"}},
		{"gown db ", []string{"migrate", "path", "prune", "vacuum"}},
	} {
		cmd := exec.CommandContext(t.Context(), "fish", "--no-config", "-c", "source "+script+"; cd "+dir+"; complete -C '"+c.typed+"'")
		out, err := cmd.CombinedOutput()
		for _, w := range c.want {
			if err != nil || !strings.Contains(string(out), w) {
				t.Errorf("fish: complete -C %q: %v; got %q, want %q", c.typed, err, out, w)
			}
		}
		t.Logf("%-24q → %q", c.typed, out)
	}
}
