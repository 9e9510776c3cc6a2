package testbed

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// nginxConf runs one nginx master and worker on one loopback port, with
// every file under the server's own folder. The access log names the
// client, the request line, the status and the X-Opaque-Id the test bed
// marks its own requests with: the read-only proof for what passed through
// it.
const nginxConf = `daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
  log_format gown '$remote_addr "$request" $status "$http_x_opaque_id"';
  access_log %[1]s/access.log gown;
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  server {
    listen %[2]s%[3]s;
%[4]s    location / {
%[5]s      proxy_pass http://%[6]s;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`

// nginxPasses says which requests nginx passes to its upstream.
type nginxPasses int

const (
	// passAll passes every request.
	passAll nginxPasses = iota
	// passSearch passes only searches (/_search and /{index}/_search) and
	// answers every other path 403, as a proxy that exposes search to an
	// app and hides the cluster's own API does: GET /, _cat and _cluster
	// are refused, the documents are not.
	passSearch
	// passNone answers every request 403: the server is there, its data
	// refused to everyone.
	passNone
)

// nginxUser is the account basic auth admits; its password is the server's.
const nginxUser = "gown-testbed"

// startNginx runs nginx in front of upstream on a free port: with basic
// auth (realm "security", as Elastic's security answers) and/or serving TLS
// only, with a fresh self-signed certificate for CN=gown-testbed-<name>.
//
// passes says which requests nginx hands to upstream (passAll, passSearch,
// passNone).
func (s *Server) startNginx(ctx context.Context, log io.Writer, upstream netip.AddrPort, auth, useTLS bool, passes nginxPasses) error {
	bin, err := LookBin("nginx")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(s.Name); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(s.dir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	var ssl, tlsConf, authConf string
	if useTLS {
		cert, key, err := selfSigned("gown-testbed-" + s.Name)
		if err != nil {
			return err
		}
		cf, kf := filepath.Join(s.dir, "cert.pem"), filepath.Join(s.dir, "key.pem")
		if err := os.WriteFile(cf, cert, 0o644); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
		if err := os.WriteFile(kf, key, 0o600); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
		ssl = " ssl"
		tlsConf = fmt.Sprintf("    ssl_certificate %s;\n    ssl_certificate_key %s;\n", cf, kf)
		s.TLS = true
	}
	if auth {
		s.User, s.Password = nginxUser, secret()
		hf := filepath.Join(s.dir, "htpasswd")
		// nginx's workers run as nobody and read the file per request.
		if err := os.WriteFile(hf, []byte(s.User+":"+sshaHash(s.Password)+"\n"), 0o644); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
		authConf = fmt.Sprintf("      auth_basic \"security\";\n      auth_basic_user_file %s;\n", hf)
	}
	switch passes {
	case passNone:
		authConf += "      return 403;\n"
	case passSearch:
		tlsConf += fmt.Sprintf("    location ~ ^/([^_/][^/]*/)?_search$ {\n      proxy_pass http://%s;\n"+
			"      proxy_set_header X-Forwarded-For $remote_addr;\n    }\n", upstream)
		authConf += "      return 403;\n"
	}
	conf := filepath.Join(s.dir, "nginx.conf")
	s.LogPath, s.logFormat = filepath.Join(s.dir, "access.log"), logNginx
	began := time.Now()
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: filepath.Join(s.dir, "server.log"), bin: bin,
		args: func(port uint16) []string {
			listen := net.JoinHostPort(loopback.String(), strconv.Itoa(int(port)))
			os.WriteFile(conf, fmt.Appendf(nil, nginxConf, s.dir, listen, ssl, tlsConf, authConf, upstream), 0o644)
			return []string{"-c", conf, "-p", s.dir + "/", "-e", filepath.Join(s.dir, "error.log")}
		},
		owned: nginxOwned(filepath.Join(s.dir, "nginx.pid")),
	}.run(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "testbed: %s: nginx on %s (pid %d) in front of %s ready in %s\n", s.Name, s.Addr, s.proc.pid(),
		upstream, time.Since(began).Round(time.Millisecond))
	return nil
}

// nginxOwned is the proof that p holds its port: nginx writes its pid file
// only after it has opened its listening sockets, and exits if a bind
// fails.
func nginxOwned(pidFile string) func(*proc, netip.AddrPort) func(context.Context) bool {
	return func(p *proc, _ netip.AddrPort) func(context.Context) bool {
		return func(context.Context) bool {
			b, err := os.ReadFile(pidFile)
			return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(p.pid())
		}
	}
}

// sshaHash is an RFC 2307 {SSHA} password as nginx's auth_basic_user_file
// takes it.
func sshaHash(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}
