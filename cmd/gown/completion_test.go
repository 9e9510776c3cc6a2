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

// TestBashCompletionInPTY sources gown completion bash into an interactive
// bash on a pseudo-terminal and presses Tab the way a user does: commands,
// subcommands, flags, flag values and file names are completed by bash's
// own readline.
func TestBashCompletionInPTY(t *testing.T) {
	isolateConfig(t)
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	code, script, _ := gownRun(t, "completion", "bash")
	if code != exitOK {
		t.Fatalf("gown completion bash: exit %d", code)
	}
	scriptFile := filepath.Join(dir, "gown.bash")
	os.WriteFile(scriptFile, []byte(script), 0o600)
	os.WriteFile(filepath.Join(dir, "inventory-intune.csv"), nil, 0o600)
	rc := filepath.Join(dir, "rc")
	// One Tab lists every candidate; no bell, no pager, no colours.
	os.WriteFile(rc, []byte("PS1='$ '\nbind 'set show-all-if-ambiguous on'\nbind 'set bell-style none'\n"+
		"bind 'set page-completions off'\nbind 'set completion-query-items 1000'\nsource "+scriptFile+"\ncd "+dir+"\n"), 0o600)

	cmd := exec.CommandContext(t.Context(), bash, "--noprofile", "--rcfile", rc, "-i")
	cmd.Env = append(os.Environ(), "TERM=dumb", "HISTFILE=/dev/null", "INPUTRC=/dev/null")
	term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pty: %v", err)
		}
		t.Skipf("no pty (set CI=true to fail instead): %v", err)
	}
	defer func() {
		term.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var screen syncBuffer
	go io.Copy(&screen, term)

	// wait returns what the terminal showed after from once it holds all
	// of want, or fails after 10 s.
	wait := func(from int, what string, want ...string) string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s := screen.String()[from:]
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(s, w)
			}
			if ok {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the terminal never showed %q; it showed %q", what, want, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait(0, "prompt", "$ ")
	for _, c := range []struct {
		typed string
		want  []string
	}{
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
	} {
		from := len(screen.String())
		io.WriteString(term, c.typed)
		got := wait(from, strings.TrimSpace(c.typed), c.want...)
		t.Logf("%-28q → %q", c.typed, strings.TrimSpace(strings.ReplaceAll(got, "\r\n", " | ")))
		io.WriteString(term, "\x15") // Ctrl-U: clear the line for the next
	}
}
