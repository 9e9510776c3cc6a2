package testbed

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// holdEnv makes TestHold (run in a child copy of this test binary) start
// servers and wait to be killed.
const holdEnv = "GOWN_TESTBED_HOLD"

// TestHold is the child half of TestParentDeath; it does nothing in a normal
// run.
func TestHold(t *testing.T) {
	if os.Getenv(holdEnv) != "1" {
		t.Skip("child of TestParentDeath only")
	}
	b, err := Start(t.Context(), os.Stderr, "redis-open", "mariadb-restricted")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range b.Servers {
		fmt.Printf("SERVER %d %s\n", s.proc.pid(), s.dir)
	}
	time.Sleep(60 * time.Second)
	b.Stop()
}

// TestParentDeath kills a test binary that holds servers, with SIGKILL so
// no cleanup runs, and checks the servers die with it: the parent-death
// signal must survive mariadbd running as user mysql. Under CI=true a child
// that cannot start its servers fails the test.
func TestParentDeath(t *testing.T) {
	if os.Getenv(holdEnv) == "1" {
		t.Skip("already the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHold$", "-test.count=1")
	cmd.Env = append(os.Environ(), holdEnv+"=1")
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pids := map[int]string{}
	sc := bufio.NewScanner(out)
	for len(pids) < 2 && sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "SERVER" {
			pid, _ := strconv.Atoi(f[1])
			pids[pid] = f[2]
		} else {
			t.Logf("child: %s", sc.Text()) // its test output: why it failed
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	for _, dir := range pids {
		// Nothing cleans up after a SIGKILL: these folders are the price.
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	if len(pids) < 2 {
		// The child's own error is logged above. A bed that cannot
		// start skips here on a developer's machine; in CI it fails, as
		// Require does: a skip would hide that the signal was never tested.
		unavailable(t, fmt.Errorf("child did not start its servers (%d of 2)", len(pids)))
	}
	deadline := time.Now().Add(5 * time.Second)
	for pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("server pid %d outlived its killed parent", pid)
		}
	}
}

// alive reports whether pid runs; a zombie waiting for a reaper that is
// not us counts as dead.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
