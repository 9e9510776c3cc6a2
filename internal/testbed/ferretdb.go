package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/lazyre"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The MongoDB configurations run FerretDB v1.24.2 (Apache-2.0), a server of
// the MongoDB wire protocol, with its SQLite backend, built from the
// module source the tools module in ferretdb/ pins (see its README). Its
// debug log records every request: the read-only proof.

// mongoVariant is one MongoDB configuration.
type mongoVariant struct {
	name   string
	want   gown.Status
	tls    bool // a TLS listener only
	auth   bool // planted open, then restarted with authentication on
	data   bool // the bulk data: shop, crm
	corpus bool // the planted people and the ransom note
}

func mongoVariants() []mongoVariant {
	return []mongoVariant{
		{name: "mongodb-open", want: gown.StatusOpen, data: true, corpus: true},
		{name: "mongodb-auth", want: gown.StatusAuthRequired, auth: true, data: true},
		{name: "mongodb-tls", want: gown.StatusOpen, tls: true, data: true},
		// Nothing planted: FerretDB lists no databases, and gown must tell
		// an empty open server from an authenticating one.
		{name: "mongodb-empty", want: gown.StatusOpen},
	}
}

// MongoCorpusDB is the database of the planted people (collection
// "users"); the ransom note is the one document of collection README in
// database RansomName.
const MongoCorpusDB = "appdata"

var ferretTool = tool{name: "ferretdb build", ensure: func(ctx context.Context, log io.Writer) error {
	_, err := ferretBinary(ctx, log)
	return err
}}

func mongoConfigs() []config {
	var out []config
	for _, v := range mongoVariants() {
		out = append(out, config{name: v.name, kind: "mongodb", tools: []tool{ferretTool},
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startFerret(ctx, log, s, v) }})
	}
	return out
}

// startFerret runs FerretDB for v and plants its data.
func startFerret(ctx context.Context, log io.Writer, s *Server, v mongoVariant) error {
	bin, err := ferretBinary(ctx, log)
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	for _, d := range []string{"data", "state"} {
		if err := os.Mkdir(filepath.Join(s.dir, d), 0o755); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}
	var extra []string
	if v.tls {
		cert, key, err := selfSigned("gown-testbed-" + v.name)
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
		extra = []string{"--listen-tls-cert-file=" + cf, "--listen-tls-key-file=" + kf}
		s.TLS = true
	}
	began := time.Now()
	if err := s.launchFerret(ctx, bin, extra); err != nil {
		return err
	}
	dbs, err := s.plantMongo(ctx, v)
	if err != nil {
		return err
	}
	if v.auth {
		// Restart on the same data with authentication on: the setup
		// user exists only for the server's sake; the bed has planted.
		if err := s.proc.stop(); err != nil {
			return err
		}
		s.User, s.Password = "admin", secret()
		extra = append(extra, "--test-enable-new-auth", "--setup-database=appdb",
			"--setup-username="+s.User, "--setup-password="+s.Password)
		if err := s.launchFerret(ctx, bin, extra); err != nil {
			return err
		}
	}
	s.Want = newTruth(v.want, dbs)
	s.Want.TLS = gown.TLSNone
	if v.tls {
		s.Want.TLS = gown.TLSRequired
	}
	if v.corpus {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, MongoCorpusDB, []string{"ransom-note"}
	}
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s\n", v.name, s.Addr, s.proc.pid(), time.Since(began).Round(time.Millisecond))
	return nil
}

// launchFerret starts FerretDB on a free port of 127.0.0.1 with telemetry
// and the debug HTTP listener off, logging every request at debug level.
func (s *Server) launchFerret(ctx context.Context, bin string, extra []string) error {
	s.LogPath = filepath.Join(s.dir, "ferretdb.log")
	var err error
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: bin, env: []string{"DO_NOT_TRACK=1"},
		args: func(port uint16) []string {
			addr := netip.AddrPortFrom(loopback, port).String()
			listen := []string{"--listen-addr=" + addr}
			if s.TLS {
				listen = []string{"--listen-addr=", "--listen-tls=" + addr}
			}
			return append(append([]string{
				"--handler=sqlite",
				"--sqlite-url=file:" + filepath.Join(s.dir, "data") + "/",
				"--state-dir=" + filepath.Join(s.dir, "state"),
				"--telemetry=disable",
				"--debug-addr=-",
				"--log-level=debug",
				"--log-format=json",
			}, listen...), extra...)
		},
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			// Logged once bound; a failed bind ends the process.
			line := " " + addr.String() + "...\""
			return func(context.Context) bool { return logSays(p, "\"msg\":\"Listening on") && logSays(p, line) }
		},
	}.run(ctx)
	return err
}

// plantMongo writes v's data as the test bed (from 127.0.0.1) and reads
// each database's document count back with dbStats.
func (s *Server) plantMongo(ctx context.Context, v mongoVariant) (map[string]uint64, error) {
	m, err := dialMongo(ctx, s.Addr, false, s.TLS)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	type coll struct {
		db, name string
		docs     []any
	}
	var colls []coll
	if v.data {
		var customers, orders, leads []any
		for i := range 200 {
			customers = append(customers, bson.D{{Key: "_id", Value: int32(i)}, {Key: "name", Value: fmt.Sprintf("Customer %d", i)},
				{Key: "plan", Value: []string{"free", "pro"}[i%2]}})
		}
		for i := range 350 {
			orders = append(orders, bson.D{{Key: "_id", Value: int32(i)}, {Key: "customer", Value: int32(i % 200)}, {Key: "total", Value: float64(i%97) + 0.5}})
		}
		for i := range 75 {
			leads = append(leads, bson.D{{Key: "_id", Value: int32(i)}, {Key: "company", Value: fmt.Sprintf("Lead %d Ltd", i)}})
		}
		colls = append(colls, coll{"shop", "customers", customers}, coll{"shop", "orders", orders}, coll{"crm", "leads", leads})
	}
	if v.corpus {
		var users []any
		for _, p := range People {
			d := bson.D{{Key: "_id", Value: p.ID}}
			for _, f := range p.Fields() {
				switch f[0] {
				case "id", "lat", "lon", "imei":
				default:
					d = append(d, bson.E{Key: f[0], Value: f[1]})
				}
			}
			// Nested as apps store them: the position as a subdocument, the
			// device in an array.
			d = append(d, bson.E{Key: "location", Value: bson.D{{Key: "lat", Value: p.Lat}, {Key: "lon", Value: p.Lon}}},
				bson.E{Key: "devices", Value: bson.A{bson.D{{Key: "imei", Value: p.IMEI},
					{Key: "seen", Value: bson.NewDateTimeFromTime(time.Unix(1700000000, 0))}}}})
			users = append(users, d)
		}
		colls = append(colls, coll{MongoCorpusDB, "users", users},
			coll{RansomName, "README", []any{bson.D{{Key: "_id", Value: int32(1)}, {Key: "message", Value: RansomMessage}}}})
	}
	want := map[string]uint64{}
	for _, c := range colls {
		if err := m.insert(c.db, c.name, c.docs); err != nil {
			return nil, fmt.Errorf("testbed: plant %s: %w", s.Name, err)
		}
		want[c.db] += uint64(len(c.docs))
	}
	got, err := mongoCounts(m, want)
	if err != nil {
		return nil, err
	}
	for db, n := range want {
		if got[db] != n {
			return nil, fmt.Errorf("testbed: %s: database %s holds %d documents, planted %d", s.Name, db, got[db], n)
		}
	}
	return want, nil
}

// mongoCounts returns dbStats' object count of each database named.
func mongoCounts(m *mongoConn, dbs map[string]uint64) (map[string]uint64, error) {
	out := map[string]uint64{}
	for db := range dbs {
		doc, err := m.must(db, bson.D{{Key: "dbStats", Value: 1}})
		if err != nil {
			return nil, err
		}
		n, _ := doc.Lookup("objects").AsInt64OK()
		out[db] = uint64(n)
	}
	return out, nil
}

// checkMongo asks from Source what a scan would: hello, then
// listDatabases, which must list every planted database with its count
// (dbStats) where the truth is open and be refused with code 13
// (Unauthorized) where authentication is on.
func (s *Server) checkMongo(ctx context.Context) error {
	m, err := dialMongo(ctx, s.Addr, true, s.TLS)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.must("admin", bson.D{{Key: "hello", Value: 1}}); err != nil {
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	doc, err := m.run("admin", bson.D{{Key: "listDatabases", Value: 1}})
	if err != nil {
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	code, msg, refused := mongoRefusal(doc)
	switch s.Want.Status {
	case gown.StatusAuthRequired:
		if !refused || code != 13 {
			return fmt.Errorf("testbed: %s: listDatabases without credentials: code %d %q, want 13", s.Name, code, msg)
		}
		return nil
	case gown.StatusOpen:
		if refused {
			return fmt.Errorf("testbed: %s: listDatabases refused: code %d %q", s.Name, code, msg)
		}
	default:
		return fmt.Errorf("testbed: %s: no check for status %s", s.Name, s.Want.Status)
	}
	var list struct {
		Databases []struct{ Name string } `bson:"databases"`
	}
	if err := bson.Unmarshal(doc, &list); err != nil {
		return fmt.Errorf("testbed: %s: listDatabases: %w", s.Name, err)
	}
	if len(list.Databases) != len(s.Want.Databases) {
		return fmt.Errorf("testbed: %s: listDatabases lists %d databases, truth %d", s.Name, len(list.Databases), len(s.Want.Databases))
	}
	got, err := mongoCounts(m, s.Want.Databases)
	if err != nil {
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	for db, n := range s.Want.Databases {
		if got[db] != n {
			return fmt.Errorf("testbed: %s: database %s holds %d documents, truth %d", s.Name, db, got[db], n)
		}
	}
	return nil
}

// MongoCommand is one request FerretDB's debug log recorded.
type MongoCommand struct {
	Name string // the command: the first key of the request document
	DB   string // its $db, where the log shows it
}

// mongoDocKey is the first key of a logged request document, and its $db.
var (
	mongoDocKey = lazyre.New(`"Document": \{\s*"([^"]+)"`)
	mongoDocDB  = lazyre.New(`"\$db": "([^"]*)"`)
)

// MongoCommands returns the requests FerretDB logged after mark (LogSize),
// each with the command it carried. The log does not tell the test bed's
// connections from a scan's: read from a mark taken after Require.
func (s *Server) MongoCommands(mark int64) ([]MongoCommand, error) {
	text, err := s.logSince(mark)
	if err != nil {
		return nil, err
	}
	var out []MongoCommand
	for line := range strings.Lines(text) {
		var e struct{ Msg string }
		if json.Unmarshal([]byte(line), &e) != nil || !strings.HasPrefix(e.Msg, "Request message:") {
			continue
		}
		c := MongoCommand{Name: "?"}
		if m := mongoDocKey.FindStringSubmatch(e.Msg); m != nil {
			c.Name = m[1]
		}
		if m := mongoDocDB.FindStringSubmatch(e.Msg); m != nil {
			c.DB = m[1]
		}
		out = append(out, c)
	}
	return out, nil
}

// FerretVersion is the FerretDB release the bed runs.
const FerretVersion = "v1.24.2"

// ferretBinary returns the FerretDB binary, building it into the cache on
// first use. `go install .../cmd/ferretdb@v1.24.2` gives a binary that
// panics at start: the module lacks build/version/version.txt, which
// FerretDB's own build writes. So the module source (found, or fetched and
// verified against the tools module's go.sum, by go mod download) is copied
// to a temp folder, the file written there, and the copy built as its own
// main module. The copy is removed.
func ferretBinary(ctx context.Context, log io.Writer) (string, error) {
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "ferretdb-"+FerretVersion, "ferretdb")
	ok := func() bool {
		out, err := exec.CommandContext(ctx, bin, "--version").Output()
		return err == nil && bytes.Contains(out, []byte(FerretVersion))
	}
	if ok() {
		return bin, nil
	}
	err = withFileLock(ctx, filepath.Join(cache, "ferretdb.lock"), func() error {
		if ok() {
			return nil
		}
		return buildFerret(ctx, log, bin)
	})
	return bin, err
}

func buildFerret(ctx context.Context, log io.Writer, bin string) error {
	goBin, err := goTool()
	if err != nil {
		return err
	}
	mod, err := sourceDir("ferretdb")
	if err != nil {
		return err
	}
	began := time.Now()
	fmt.Fprintf(log, "testbed: building FerretDB %s (about a minute with a cold build cache)\n", FerretVersion)
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", "github.com/FerretDB/FerretDB")
	cmd.Dir, cmd.Env = mod, env
	var stderr tailBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Version, Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Error != "" || info.Dir == "" {
		return fmt.Errorf("testbed: go mod download FerretDB: %v %s %s", err, info.Error, stderr.String())
	}
	src, err := os.MkdirTemp("", "gown-ferretdb-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := os.CopyFS(src, os.DirFS(info.Dir)); err != nil {
		return fmt.Errorf("testbed: copy FerretDB source: %w", err)
	}
	if err := os.WriteFile(filepath.Join(src, "build", "version", "version.txt"), []byte(info.Version+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	tmp := bin + ".tmp" + strconv.Itoa(os.Getpid())
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp, "./cmd/ferretdb")
	build.Dir = src
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "GOTOOLCHAIN=local")
	var tail tailBuffer
	build.Stdout, build.Stderr = &tail, &tail
	if err := build.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("testbed: go build ferretdb: %w: %s", err, tail.String())
	}
	fmt.Fprintf(log, "testbed: built FerretDB in %s\n", time.Since(began).Round(time.Second))
	// Rename is atomic: a parallel test binary sees the old state or the new.
	return os.Rename(tmp, bin)
}

// goTool finds the go command: on PATH, or beside the running toolchain.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	for _, p := range []string{filepath.Join(os.Getenv("GOROOT"), "bin", "go"), "/usr/local/go/bin/go"} {
		if isProgram(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("testbed: the go command is needed to build FerretDB and is not on PATH")
}
