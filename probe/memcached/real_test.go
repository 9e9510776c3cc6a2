package memcached

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// The real-server tests start Debian's memcached 1.6 on free loopback ports
// in four configurations and check gown's verdict, inventory and, from the
// server's -vv log, that gown sent nothing but read-only requests.

// planted is how many keys the test bed writes into the open server. The
// test writes them itself; gown never does.
const planted = 40

// readOnlyText and readOnlyBinary are every request gown may send.
var (
	readOnlyText   = map[string]bool{"stats": true, "stats settings": true}
	readOnlyBinary = map[string]bool{"0x20": true, "0x0b": true, "0x10": true}
)

// server is one memcached the test started and alone stops.
type server struct {
	target gown.Target
	log    string
	done   chan struct{}
}

func TestRealOpen(t *testing.T) {
	t.Parallel()
	s := startMemcached(t, nil, nil)
	plant(t, s.target, planted)
	mark := logSize(t, s)
	r := probeReal(t, s)
	if r.Status != gown.StatusOpen || r.Product != "memcached" || !strings.HasPrefix(r.Version, "1.6.") {
		t.Fatalf("verdict %s %q %q (%s)", r.Status, r.Product, r.Version, r.Reason)
	}
	inv := r.Inventory
	if inv == nil || len(inv.Databases) != 1 || inv.Items != planted || inv.Databases[0].Items != planted || inv.Bytes == 0 {
		t.Fatalf("inventory %+v; want %d items in one database", inv, planted)
	}
	if r.Details["auth_enabled_sasl"] != "no" || r.Details["total_items"] != fmt.Sprint(planted) || r.Error != "" {
		t.Fatalf("details %v, error %q", r.Details, r.Error)
	}
	text, bin := requests(t, s, mark)
	if strings.Join(text, ",") != "stats,stats settings" || len(bin) != 0 {
		t.Fatalf("gown sent text %q and binary %q; want stats, stats settings", text, bin)
	}
	t.Logf("open: %s, %d items, %d bytes; gown sent %q", r.Reason, inv.Items, inv.Bytes, text)
}

func TestRealASCIIAuth(t *testing.T) {
	t.Parallel()
	dir := shared(t)
	auth := filepath.Join(dir, "authfile")
	writeShared(t, auth, "gown-testbed:"+secret()+"\n")
	s := startMemcached(t, []string{"-Y", auth}, nil)
	r := probeReal(t, s)
	if r.Status != gown.StatusAuthRequired || r.Details["auth_enabled_ascii"] != "yes" {
		t.Fatalf("verdict %s (%s) %v", r.Status, r.Reason, r.Details)
	}
	// memcached does not log a command it refuses for want of
	// authentication, only its answer: one answer means one request.
	text, bin := requests(t, s, 0)
	b, _ := os.ReadFile(s.log)
	if n := strings.Count(string(b), " CLIENT_ERROR unauthenticated\n"); n != 1 || len(text)+len(bin) != 0 {
		t.Fatalf("%d refusals logged, text %q, binary %q; want one refused request", n, text, bin)
	}
	t.Logf("ascii auth: %s; one request refused", r.Reason)
}

func TestRealSASL(t *testing.T) {
	t.Parallel()
	dir := shared(t)
	writeShared(t, filepath.Join(dir, "memcached.conf"), "mech_list: plain\n")
	pwdb := filepath.Join(dir, "pwdb")
	writeShared(t, pwdb, "gown-testbed:"+secret()+"\n")
	env := []string{"SASL_CONF_PATH=" + dir, "MEMCACHED_SASL_PWDB=" + pwdb}
	s := startMemcached(t, []string{"-S"}, env)
	r := probeReal(t, s)
	if r.Status != gown.StatusAuthRequired || r.Details["sasl_mechanisms"] != "PLAIN" || !strings.HasPrefix(r.Version, "1.6.") {
		t.Fatalf("verdict %s %q (%s) %v", r.Status, r.Version, r.Reason, r.Details)
	}
	text, bin := requests(t, s, 0)
	if strings.Join(text, ",") != "stats" || strings.Join(bin, ",") != "0x20,0x0b,0x10" {
		t.Fatalf("gown sent text %q and binary %q", text, bin)
	}
	t.Logf("sasl: %s; binary opcodes %q", r.Reason, bin)
}

func TestRealBinaryOnly(t *testing.T) {
	t.Parallel()
	s := startMemcached(t, []string{"-B", "binary"}, nil)
	r := probeReal(t, s)
	if r.Status != gown.StatusOpen || r.Inventory == nil || r.Inventory.Items != 0 || len(r.Details) == 0 {
		t.Fatalf("verdict %s (%s) %+v", r.Status, r.Reason, r.Inventory)
	}
	text, bin := requests(t, s, 0)
	if strings.Join(text, ",") != "stats" || strings.Join(bin, ",") != "0x20,0x10" {
		t.Fatalf("gown sent text %q and binary %q", text, bin)
	}
	t.Logf("binary only: %s; binary opcodes %q", r.Reason, bin)
}

// startMemcached starts memcached -vv on a free loopback port with extra
// arguments and environment, retrying if another process takes the port.
func startMemcached(t *testing.T, extra, env []string) *server {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("memcached is not installed (apt-get install -y memcached)")
		}
		t.Skip("memcached is not installed (apt-get install -y memcached)")
	}
	dir := shared(t)
	var last string
	for attempt := range 4 {
		port := freePort(t)
		args := []string{"-l", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "0", "-m", "16", "-vv"}
		if os.Geteuid() == 0 {
			args = append(args, "-u", runAs())
		}
		s := &server{log: filepath.Join(dir, fmt.Sprintf("memcached-%d.log", attempt)), done: make(chan struct{})}
		s.target = gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}
		err := s.start(t, bin, append(args, extra...), env)
		if err == nil {
			return s
		}
		last = err.Error()
	}
	t.Fatalf("memcached would not start: %s", last)
	return nil
}

// start runs the server in its own process group, stopped by t.Cleanup
// with a signal to that group alone.
func (s *server) start(t *testing.T, bin string, args, env []string) error {
	out, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(s.done) }()
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(3 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case <-s.done:
			b, _ := os.ReadFile(s.log)
			return fmt.Errorf("exited: %s", b[max(0, len(b)-500):])
		default:
		}
		// The readiness check connects and closes: the -vv log shows a
		// connection without a command, which requests() ignores.
		if c, err := net.DialTimeout("tcp", s.target.Dial(), time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("not accepting connections after 10s")
}

// plant writes n keys, as the test bed (never gown) may.
func plant(t *testing.T, tg gown.Target, n int) {
	t.Helper()
	c, err := net.DialTimeout("tcp", tg.Dial(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := range n {
		v := fmt.Sprintf("value-%d", i)
		fmt.Fprintf(c, "set gown-key-%d 0 0 %d\r\n%s\r\n", i, len(v), v)
		if line, err := br.ReadString('\n'); err != nil || line != "STORED\r\n" {
			t.Fatalf("set %d: %q %v", i, line, err)
		}
	}
}

func probeReal(t *testing.T, s *server) *gown.Result {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New().Probe(t.Context(), s.target, d)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	return r
}

// msgStart starts a -vv message about a client: "<24 stats",
// "<24    0x80 0x20 ...". memcached's worker threads write -vv lines without
// a lock, so one line can hold two messages: "<23 <24 connection closed." or
// "<23 0x73 0x74<24 connection closed.", where another thread's message cut
// a header short. Each message starts at a prefix; text before the first
// prefix is the tail of a message already cut.
var msgStart = regexp.MustCompile(`<\d+ `)

// notCommands are -vv lines that report connections, not requests.
var notCommands = regexp.MustCompile(`^(new .*client connection\.?|connection closed\.|server listening.*|Read binary protocol data:)$`)

// requests reads the server's -vv log from offset mark and returns the text
// commands and the binary opcodes clients sent, failing the test on any
// request that is not read-only. It waits a moment for the log to settle:
// memcached logs a request as it parses it, from a worker thread.
func requests(t *testing.T, s *server, mark int64) (text, binary []string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	b, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	header := false
	for _, msg := range messages(b[mark:]) {
		switch {
		case msg == "Read binary protocol data:":
			header = true // the next message holds magic and opcode
		case header && notCommands.MatchString(msg):
			// Another client's message between the announcement and its
			// header (the -vv lines are written without a lock, see
			// msgStart): the header is still to come.
		case header && strings.HasPrefix(msg, "0x73"):
			// "st": gown's padded text stats, read by a binary-only
			// server as a header with a bad magic byte (a binary header
			// starts with the magic 0x80, no other memcached command with
			// "s"), and a message cut short may hold only its first byte.
			text, header = append(text, "stats"), false
		case header:
			f := strings.Fields(msg)
			if len(f) < 2 || f[0] != "0x80" || !readOnlyBinary[f[1]] {
				t.Fatalf("binary request %q is not one gown may send", msg)
			}
			binary, header = append(binary, f[1]), false
		case strings.HasPrefix(msg, "0x"), notCommands.MatchString(msg):
		case msg == "STATS" && len(binary) > 0 && binary[len(binary)-1] == "0x10":
			// memcached echoes a binary stat it served this way; the
			// header was already checked above.
		default:
			if !readOnlyText[msg] {
				t.Fatalf("text request %q is not one gown may send", msg)
			}
			text = append(text, msg)
		}
	}
	return text, binary
}

// messages splits a -vv log into its client messages, prefixes removed.
func messages(b []byte) []string {
	var msgs []string
	for _, line := range strings.Split(string(b), "\n") {
		parts := msgStart.Split(line, -1)
		for _, p := range parts[1:] {
			if p = strings.TrimSpace(p); p != "" {
				msgs = append(msgs, p)
			}
		}
	}
	return msgs
}

func logSize(t *testing.T, s *server) int64 {
	time.Sleep(100 * time.Millisecond) // let the planting connection's lines land
	fi, err := os.Stat(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// shared returns a temp folder the server's user can read: memcached drops
// root for -u before it reads -Y and SASL files.
func shared(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeShared(t *testing.T, path, data string) {
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runAs is the user memcached switches to when started as root.
func runAs() string {
	if _, err := user.Lookup("memcache"); err == nil {
		return "memcache"
	}
	return "nobody"
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func secret() string {
	return fmt.Sprintf("pw-%d-%d", os.Getpid(), time.Now().UnixNano())
}
