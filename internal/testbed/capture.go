package testbed

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Capture is a tcpdump recording the loopback interface for a test.
type Capture struct {
	Path string
	cmd  *exec.Cmd
	errb lockedBuf
	done bool
}

// lockedBuf is a buffer tcpdump's stderr is copied into while the test
// reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// RecordLoopback starts tcpdump on lo with the given BPF filter (for
// instance "tcp port 6379 or tcp port 3306": other tests and sessions share
// loopback), writing a pcap file of full packets under the test's temp
// folder. It returns once tcpdump listens. Stop ends it and returns the
// file; t.Cleanup stops it too. tcpdump (Debian) is installed when missing
// and the process is root; otherwise the test is skipped (failed in CI).
func RecordLoopback(t testing.TB, filter string) *Capture {
	t.Helper()
	if err := Ensure(t.Context(), t.Output(), "tcpdump", "tcpdump"); err != nil {
		unavailable(t, err)
	}
	bin, err := LookBin("tcpdump")
	if err != nil {
		unavailable(t, err)
	}
	c := &Capture{Path: filepath.Join(t.TempDir(), "lo.pcap")}
	// -U writes each packet as it comes (and --immediate-mode hands it over
	// at once, not in blocks a signal would lose), -s 0 keeps whole packets, -n
	// never resolves a name (no DNS from a test), -Z root keeps the file
	// writable where tcpdump would drop to another user.
	c.cmd = exec.Command(bin, "-i", "lo", "-n", "-U", "--immediate-mode", "-s", "0", "-Z", "root", "-w", c.Path, filter)
	c.cmd.Stderr = &c.errb
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		unavailable(t, fmt.Errorf("tcpdump: %w", err))
	}
	t.Cleanup(func() { c.Stop() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !strings.Contains(c.errb.String(), "listening on") {
		if ctx.Err() != nil {
			c.Stop()
			unavailable(t, fmt.Errorf("tcpdump did not start: %s", c.errb.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// Stop ends the recording (SIGINT, so tcpdump flushes) and returns the
// capture's path.
func (c *Capture) Stop() string {
	if c.done {
		return c.Path
	}
	c.done = true
	// Give the last packets (FIN, ACK) time to be written.
	time.Sleep(300 * time.Millisecond)
	_ = c.cmd.Process.Signal(os.Interrupt)
	waited := make(chan error, 1)
	go func() { waited <- c.cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-waited
	}
	return c.Path
}

// Log is what tcpdump said (its packet counts).
func (c *Capture) Log() string { return c.errb.String() }
