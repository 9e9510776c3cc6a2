package testbed

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// redisAdmin is the ACL user the test bed adds in redis-acl so that it can
// still plant data and run MONITOR while the default user may only read.
const redisAdmin = "gown-testbed"

// redisVariant describes one Redis configuration.
type redisVariant struct {
	name string
	want gown.Status
	bind netip.Addr
	keys map[int]int // db index → keys to plant
	// auth returns the extra arguments and sets s.User/s.Password.
	auth func(s *Server) []string
	// prefix is how the first line of an INFO reply from Source starts.
	prefix string
	// corpus is the database the personal-data corpus and the compromise
	// signs go into, for the configurations open to gown; -1 for none.
	corpus int
}

var redisPackages = []pkg{
	{"redis-server", []string{"redis-server"}},
	{"redis-tools", []string{"redis-cli"}},
}

var loopback = netip.MustParseAddr("127.0.0.1")

func redisVariants() []redisVariant {
	few := map[int]int{0: 6}
	return []redisVariant{{
		name: "redis-open", want: gown.StatusOpen, bind: loopback,
		keys: map[int]int{0: 120, 1: 30}, prefix: "$", corpus: redisCorpusDB,
		auth: func(*Server) []string { return []string{"--protected-mode", "no"} },
	}, {
		name: "redis-password", want: gown.StatusAuthRequired, bind: loopback,
		keys: few, prefix: "-NOAUTH", corpus: -1,
		auth: func(s *Server) []string {
			s.Password = secret()
			return []string{"--protected-mode", "no", "--requirepass", s.Password}
		},
	}, {
		// The default user may run read commands (+@read) on no key at all:
		// INFO is refused, DBSIZE and SCAN answer, every key read is
		// refused. Nothing of the data is readable: restricted.
		name: "redis-acl", want: gown.StatusRestricted, bind: loopback,
		keys: few, prefix: "-NOPERM", corpus: -1,
		auth: func(s *Server) []string {
			s.User, s.Password = redisAdmin, secret()
			return []string{"--protected-mode", "no",
				"--user", "default", "on", "nopass", "resetkeys", "-@all", "+@read",
				"--user", redisAdmin, "on", ">" + s.Password, "~*", "&*", "+@all"}
		},
	}, {
		// The default user may run read commands (+@read) on every key
		// (~*): INFO is refused (it is not a read command), yet every
		// value reads. The data is readable without a password: open.
		// The corpus lives in db0, as +@read does not allow SELECT.
		name: "redis-readonly", want: gown.StatusOpen, bind: loopback,
		prefix: "-NOPERM", corpus: 0,
		auth: func(s *Server) []string {
			s.User, s.Password = redisAdmin, secret()
			return []string{"--protected-mode", "no",
				"--user", "default", "on", "nopass", "resetkeys", "~*", "-@all", "+@read",
				"--user", redisAdmin, "on", ">" + s.Password, "~*", "&*", "+@all"}
		},
	}, {
		// Protected mode refuses non-loopback clients only while the
		// default user has no password; 127.0.0.9 keeps it apart from the
		// 127.0.0.1 servers, and Source (127.0.0.2) counts as remote.
		name: "redis-protected", want: gown.StatusProtected, bind: netip.MustParseAddr("127.0.0.9"),
		keys: few, prefix: "-DENIED", corpus: -1,
		auth: func(*Server) []string { return []string{"--protected-mode", "yes"} },
	}}
}

func redisConfigs() []config {
	var out []config
	for _, v := range redisVariants() {
		out = append(out, config{
			name: v.name, kind: "redis", pkgs: redisPackages,
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startRedis(ctx, log, s, v) },
		})
	}
	return out
}

// startRedis runs redis-server for v and plants its keys.
func startRedis(ctx context.Context, log io.Writer, s *Server, v redisVariant) error {
	bin, err := LookBin("redis-server")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	s.sock = filepath.Join(s.dir, "redis.sock")
	extra := v.auth(s)
	args := func(port uint16) []string {
		return append([]string{
			"--port", strconv.Itoa(int(port)), "--bind", v.bind.String(),
			"--unixsocket", s.sock, "--unixsocketperm", "700",
			"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no",
			"--logfile", "", "--databases", "16",
		}, extra...)
	}
	began := time.Now()
	s.proc, s.Addr, err = launch(ctx, v.bind, s.sock, filepath.Join(s.dir, "server.log"), bin, nil, args)
	if err != nil {
		return err
	}
	dbs, err := s.plantRedis(ctx, v.keys)
	if err != nil {
		return err
	}
	s.Want = newTruth(v.want, dbs)
	if v.corpus >= 0 {
		n, err := s.plantRedisCorpus(ctx, v.corpus)
		if err != nil {
			return err
		}
		db := "db" + strconv.Itoa(v.corpus)
		dbs[db] += n
		s.Want = newTruth(v.want, dbs)
		s.Want.Classes, s.Want.PIIDatabase = PIIClasses, db
		s.Want.Signs = []string{"ransom-note", "redis-cron"}
	}
	// INFO, the one source of used_memory, is refused where reads are not.
	s.Want.Unsized = v.want == gown.StatusOpen && v.prefix == "-NOPERM"
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s\n", v.name, s.Addr, s.proc.pid(), time.Since(began).Round(time.Millisecond))
	return nil
}

// adminConn opens a RESP connection over the unix socket, which protected
// mode always admits, authenticated as the account that may do anything.
func (s *Server) adminConn(ctx context.Context) (*respConn, error) {
	c, err := dialRESP(ctx, "unix", s.sock)
	if err != nil {
		return nil, err
	}
	if s.Password != "" {
		args := []string{"AUTH", s.Password}
		if s.User != "" {
			args = []string{"AUTH", s.User, s.Password}
		}
		if _, err := c.do(args...); err != nil {
			c.Close()
			return nil, fmt.Errorf("redis AUTH on %s: %w", s.sock, err)
		}
	}
	return c, nil
}

// plantRedis writes keys into each database, pipelined, and reads DBSIZE
// back so the truth is what the server holds.
func (s *Server) plantRedis(ctx context.Context, keys map[int]int) (map[string]uint64, error) {
	c, err := s.adminConn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	dbs := map[string]uint64{}
	for db, n := range keys {
		cmds := [][]string{{"SELECT", strconv.Itoa(db)}}
		for i := range n {
			cmds = append(cmds, redisKey(db, i))
		}
		if err := c.pipeline(cmds); err != nil {
			return nil, fmt.Errorf("redis plant db%d on %s: %w", db, s.Addr, err)
		}
		size, err := c.do("DBSIZE")
		if err != nil {
			return nil, fmt.Errorf("redis DBSIZE db%d on %s: %w", db, s.Addr, err)
		}
		if size != strconv.Itoa(n) {
			return nil, fmt.Errorf("redis db%d on %s holds %s keys, planted %d", db, s.Addr, size, n)
		}
		dbs["db"+strconv.Itoa(db)] = uint64(n)
	}
	return dbs, nil
}

// redisKey returns the command that plants key i: strings, hashes and lists
// in turn, so a scan sees the usual mix of types.
func redisKey(db, i int) []string {
	id := strconv.Itoa(i)
	switch {
	case db != 0 || i%3 == 0:
		return []string{"SET", "session:" + id, "token-" + id + "-" + strconv.Itoa(db)}
	case i%3 == 1:
		return []string{"HSET", "user:" + id, "name", "User " + id, "email", "user" + id + "@example.com", "plan", "free"}
	default:
		return []string{"RPUSH", "queue:" + id, "job-a", "job-b", "job-c"}
	}
}

// checkRedis sends INFO from Source and compares the reply's first line
// with what the configuration must answer.
func (s *Server) checkRedis(ctx context.Context) error {
	v, ok := redisVariant{}, false
	for _, rv := range redisVariants() {
		if rv.name == s.Name {
			v, ok = rv, true
		}
	}
	if !ok {
		return fmt.Errorf("testbed: no redis variant %q", s.Name)
	}
	line, err := redisFirstLine(ctx, s.Addr)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, v.prefix) {
		return fmt.Errorf("redis INFO from %s to %s: got %.60q, want %s…", Source, s.Addr, line, v.prefix)
	}
	if v.prefix != "-NOPERM" {
		return nil
	}
	// INFO refused by the ACL decides nothing: reading a planted string
	// key's value does.
	key := "session:0"
	if v.corpus == 0 {
		key = RansomName
	}
	line, err = redisFirstLine(ctx, s.Addr, "GET", key)
	if err != nil {
		return err
	}
	got := gown.StatusRestricted
	if strings.HasPrefix(line, "$") {
		got = gown.StatusOpen
	} else if !strings.HasPrefix(line, "-NOPERM") {
		return fmt.Errorf("redis GET from %s to %s: got %.60q", Source, s.Addr, line)
	}
	if got != v.want {
		return fmt.Errorf("redis GET from %s to %s: server behaves as %s, want %s", Source, s.Addr, got, v.want)
	}
	return nil
}

// redisFirstLine dials addr from Source, sends INFO (or the command args
// name) and returns the first line of the answer.
func redisFirstLine(ctx context.Context, addr netip.AddrPort, args ...string) (string, error) {
	c, err := Dialer().DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return "", fmt.Errorf("redis dial %s from %s: %w", addr, Source, err)
	}
	defer c.Close()
	defer connDeadline(ctx, c, 5*time.Second)()
	if len(args) == 0 {
		args = []string{"INFO"}
	}
	cmd := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		cmd += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", fmt.Errorf("redis %s on %s: %w", args[0], addr, err)
	}
	rc := &respConn{c: c}
	rc.r = newReader(c)
	line, err := rc.line()
	if err != nil {
		return "", fmt.Errorf("redis %s on %s: %w", args[0], addr, err)
	}
	return line, nil
}
