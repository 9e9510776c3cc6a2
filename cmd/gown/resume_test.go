package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/store"
)

// killTargets is how many closed loopback ports pad the target list, so that
// the scan, slowed by --rate, is still running when it is killed.
const killTargets = 3000

// TestKillResume runs a real gown scan process, SIGKILLs it mid-scan, resumes
// it with --resume and checks: nothing printed before the kill is missing
// from the store, the resumed run redoes no finished target, and the final
// finding set equals that of an uninterrupted run.
func TestKillResume(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open", "redis-password")
	dir := t.TempDir()
	bin := filepath.Join(dir, "gown")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	list := writeKillList(t, dir, bed)
	args := func(db string) []string {
		return []string{"scan", "-l", list, "--db", db, "--rate", "1000", "--all", "--json", "--source", testbed.Source.String()}
	}
	ref, killed := filepath.Join(dir, "ref.db"), filepath.Join(dir, "killed.db")
	gownCmd(t, bin, dir, args(ref)...)

	cmd := exec.Command(bin, args(killed)...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir)
	var before bytes.Buffer
	cmd.Stdout = &before
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	stored := storedTargets(t, killed)
	printed := printedTargets(t, before.Bytes())
	t.Logf("killed after %d of %d targets stored, %d printed", len(stored), killTargets+3, len(printed))
	if len(stored) == 0 || len(stored) >= killTargets+3 {
		t.Fatalf("kill landed outside the scan: %d targets stored", len(stored))
	}
	for _, k := range printed {
		if !slices.Contains(stored, k) {
			t.Errorf("%s was printed before the kill but is not in the store", k)
		}
	}

	after := gownCmd(t, bin, dir, "scan", "--resume", "--db", killed)
	for _, k := range printedTargets(t, []byte(after)) {
		if slices.Contains(stored, k) {
			t.Errorf("resume probed %s again, which was finished before the kill", k)
		}
	}
	if n := len(storedTargets(t, killed)); n != killTargets+3 {
		t.Errorf("%d targets stored after resume, want %d", n, killTargets+3)
	}
	want, got := findingSet(t, ref), findingSet(t, killed)
	t.Logf("findings: uninterrupted %v\nkilled+resumed %v", want, got)
	if !slices.Equal(got, want) || len(want) < 3 {
		t.Errorf("findings after kill and resume differ from an uninterrupted run:\n got %v\nwant %v", got, want)
	}
}

// writeKillList writes closed ports with the test-bed servers spread among
// them, so that some are probed before the kill and some after.
func writeKillList(t *testing.T, dir string, bed *testbed.Bed) string {
	var b strings.Builder
	servers := []string{"redis-open", "mariadb-open", "redis-password"}
	step := killTargets / len(servers)
	for i := range killTargets {
		if i%step == step/2 {
			fmt.Fprintln(&b, bed.Get(servers[0]).Addr)
			servers = servers[1:]
		}
		fmt.Fprintf(&b, "127.0.0.1:%d\n", 20000+i)
	}
	path := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gownCmd(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gown %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	t.Logf("gown %s: %s", strings.Join(args, " "), strings.TrimSpace(errb.String()))
	return out.String()
}

func openStore(t *testing.T, path string) gown.Store {
	t.Helper()
	s, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func storedTargets(t *testing.T, path string) []string {
	var keys []string
	if err := openStore(t, path).DoneTargets(t.Context(), 1, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

func printedTargets(t *testing.T, out []byte) []string {
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l report.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			continue // a line cut by the kill
		}
		keys = append(keys, gown.TargetKey(l.Target))
	}
	return keys
}

// findingSet is the scan's findings as id, severity and items: bytes are
// left out because Redis used_memory drifts between runs.
func findingSet(t *testing.T, path string) []string {
	var out []string
	err := openStore(t, path).Results(t.Context(), 1, func(_ *gown.Result, fs []gown.Finding) error {
		for _, f := range fs {
			out = append(out, fmt.Sprintf("%s/%s/%s/%d", f.ID, f.Rule, f.Severity, f.Items))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
