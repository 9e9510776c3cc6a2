package elasticsearch

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nginxBin is Debian's nginx; the auth-required configuration puts it in
// front of the node with basic auth, the "secure it externally" deployment.
const nginxBin = "/usr/sbin/nginx"

// proxy is a running nginx with its own prefix, config and logs.
type proxy struct {
	addr      netip.AddrPort
	accessLog string
}

// nginxConf listens on one loopback port and asks for basic auth before
// anything reaches the node. The htpasswd user exists only so the config is
// valid; gown never has its password.
const nginxConf = `daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 64; }
http {
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  server {
    listen %[2]s;
    location / {
      auth_basic "security";
      auth_basic_user_file %[1]s/htpasswd;
      proxy_pass http://%[3]s;
    }
  }
}
`

// startNginx runs nginx in front of upstream until the test binary ends.
func startNginx(t *testing.T, upstream netip.AddrPort) *proxy {
	t.Helper()
	if _, err := os.Stat(nginxBin); err != nil {
		unavailable(t, "nginx not installed: %v", err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tmp"), 0o755)
	// apr1 hash of a random-enough password nobody knows; only its presence matters.
	os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("admin:$apr1$gown$X3x8.Vh0yFq1Zp3bTKdXv/\n"), 0o644)
	for range 3 {
		addr, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "nginx.conf")
		os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, addr, upstream), 0o644)
		cmd := exec.Command(nginxBin, "-c", conf, "-p", dir+"/")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		done := make(chan struct{})
		if err := startLocked(cmd, done); err != nil {
			unavailable(t, "start nginx: %v", err)
		}
		t.Cleanup(func() { stopGroup(cmd, done) })
		if waitListen(addr, done) {
			return &proxy{addr: addr, accessLog: filepath.Join(dir, "access.log")}
		}
		stopGroup(cmd, done)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	unavailable(t, "nginx would not start: %s", tail(b))
	return nil
}

// waitListen waits until addr accepts or the process exits.
func waitListen(addr netip.AddrPort, done chan struct{}) bool {
	for range 100 {
		select {
		case <-done:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// requests lists "METHOD path" from the access log (combined format).
func (p *proxy) requests(t *testing.T) []string {
	b, err := os.ReadFile(p.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if _, after, ok := strings.Cut(line, `"`); ok {
			req, _, _ := strings.Cut(after, `"`)
			method, rest, _ := strings.Cut(req, " ")
			path, _, _ := strings.Cut(rest, " ")
			out = append(out, method+" "+path)
		}
	}
	return out
}
