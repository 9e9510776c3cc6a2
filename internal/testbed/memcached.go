package testbed

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gownscan/gown"
)

// memcachedAuth is how a memcached configuration asks for credentials.
type memcachedAuth int

const (
	mcNone  memcachedAuth = iota
	mcASCII               // -Y authfile: text protocol, credentials sent as a set
	mcSASL                // -S: binary protocol only, SASL PLAIN
)

// memcachedVariant describes one memcached configuration.
type memcachedVariant struct {
	name string
	want gown.Status
	keys int
	auth memcachedAuth
}

var memcachedPackages = []pkg{{"memcached", []string{"memcached"}}}

// memcachedSASLPackages add the PLAIN mechanism and the sasldb password
// store (plugins memcached only recommends, which --no-install-recommends
// leaves out), and saslpasswd2 to fill the store: Debian's memcached is
// built without its own password file (MEMCACHED_SASL_PWDB), so Cyrus SASL
// checks passwords against a sasldb.
var memcachedSASLPackages = slices.Concat(memcachedPackages, []pkg{
	{"libsasl2-modules", []string{"/usr/lib/*/sasl2/libplain.so*"}},
	{"libsasl2-modules-db", []string{"/usr/lib/*/sasl2/libsasldb.so*"}},
	{"sasl2-bin", []string{"saslpasswd2"}},
})

func memcachedVariants() []memcachedVariant {
	return []memcachedVariant{
		{name: "memcached-open", want: gown.StatusOpen, keys: 40, auth: mcNone},
		{name: "memcached-auth", want: gown.StatusAuthRequired, keys: 6, auth: mcASCII},
		{name: "memcached-sasl", want: gown.StatusAuthRequired, keys: 6, auth: mcSASL},
	}
}

func memcachedConfigs() []config {
	var out []config
	for _, v := range memcachedVariants() {
		pkgs := memcachedPackages
		if v.auth == mcSASL {
			pkgs = memcachedSASLPackages
		}
		out = append(out, config{
			name: v.name, kind: "memcached", pkgs: pkgs,
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startMemcached(ctx, log, s, v) },
		})
	}
	return out
}

// startMemcached runs memcached -vv for v and plants its keys.
func startMemcached(ctx context.Context, log io.Writer, s *Server, v memcachedVariant) error {
	bin, err := LookBin("memcached")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	began := time.Now()
	// memcached refuses root without -u, and -u would drop privileges
	// inside the server, clearing the parent-death signal: start it as its
	// user instead.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = userCred("memcache"); err != nil {
			if cred, err = userCred("nobody"); err != nil {
				return fmt.Errorf("testbed: memcached refuses root and %w", err)
			}
		}
	}
	extra, env, err := s.memcachedAuthFiles(ctx, v.auth, cred)
	if err != nil {
		return err
	}
	s.LogPath = filepath.Join(s.dir, "server.log")
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: bin, cred: cred, env: env,
		args: func(port uint16) []string {
			return append([]string{"-l", loopback.String(), "-p", strconv.Itoa(int(port)),
				"-U", "0", "-m", "16", "-t", "2", "-vv"}, extra...)
		},
		owned: memcachedListening,
	}.run(ctx)
	if err != nil {
		return err
	}
	listening := time.Now()
	keys := mcKeys(v.keys)
	if v.want == gown.StatusOpen {
		keys = append(keys, memcachedCorpus()...)
	}
	if v.auth == mcSASL {
		err = s.plantMemcachedBinary(ctx, v.keys)
	} else {
		err = s.plantMemcachedText(ctx, keys)
	}
	if err != nil {
		return err
	}
	s.Want = newTruth(v.want, map[string]uint64{"cache": uint64(len(keys))})
	s.Want.TLS = gown.TLSNone
	if v.want == gown.StatusOpen {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, "cache", []string{"ransom-note"}
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s (start %s, plant %s)\n",
		v.name, s.Addr, s.proc.pid(), ms(time.Since(began)), ms(listening.Sub(began)), ms(time.Since(listening)))
	return nil
}

// memcachedAuthFiles writes the password files of an auth variant, readable
// by the server's user only, and returns the extra arguments and
// environment.
func (s *Server) memcachedAuthFiles(ctx context.Context, auth memcachedAuth, cred *syscall.Credential) (args, env []string, err error) {
	if auth == mcNone {
		return nil, nil, nil
	}
	s.User, s.Password = "gown-testbed", secret()
	line := s.User + ":" + s.Password + "\n"
	if auth == mcASCII {
		f := filepath.Join(s.dir, "authfile")
		return []string{"-Y", f}, nil, writeOwned(f, line, cred)
	}
	// SASL reads <SASL_CONF_PATH>/memcached.conf, which points it at a
	// sasldb of our own.
	db := filepath.Join(s.dir, "sasldb2")
	conf := "mech_list: plain\nsasldb_path: " + db + "\n"
	if err := writeOwned(filepath.Join(s.dir, "memcached.conf"), conf, cred); err != nil {
		return nil, nil, err
	}
	if err := saslPasswd(ctx, db, s.User, s.Password, cred); err != nil {
		return nil, nil, err
	}
	return []string{"-S"}, []string{"SASL_CONF_PATH=" + s.dir}, nil
}

// saslPasswd adds user to the sasldb at db for application memcached, in
// the default realm (the host name), which is the one memcached checks, and
// hands the file to the server's user.
func saslPasswd(ctx context.Context, db, user, password string, cred *syscall.Credential) error {
	bin, err := LookBin("saslpasswd2")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "-f", db, "-a", "memcached", "-c", "-p", user)
	cmd.Stdin = strings.NewReader(password) // -p: the password from stdin, not a prompt
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("testbed: saslpasswd2: %w: %s", err, strings.TrimSpace(string(out)))
	}
	if cred != nil {
		if err := os.Chown(db, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}
	return nil
}

// memcachedListening is the proof that p holds its port: memcached has no
// unix socket beside TCP (-s disables TCP), but with -vv it logs "server
// listening" once bound, and exits if the bind fails.
func memcachedListening(p *proc, _ netip.AddrPort) func(context.Context) bool {
	return func(context.Context) bool { return logSays(p, "server listening (") }
}

// memcachedVariantOf returns the variant a server was started as.
func memcachedVariantOf(s *Server) (memcachedVariant, error) {
	for _, v := range memcachedVariants() {
		if v.name == s.Name {
			return v, nil
		}
	}
	return memcachedVariant{}, fmt.Errorf("testbed: no memcached variant %q", s.Name)
}
