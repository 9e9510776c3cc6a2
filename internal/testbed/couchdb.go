package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// The CouchDB configurations run PouchDB Server 4.2.0 (npm, Apache-2.0),
// which speaks CouchDB's 1.x HTTP API, with a LevelDB data folder (so
// databases report their disk size) and its request log in a file.

// PouchVersion is the PouchDB Server release the bed runs.
const PouchVersion = "4.2.0"

var pouchServer = npmPackage{dir: "pouchdb", specs: []string{"pouchdb-server@" + PouchVersion},
	main: "node_modules/pouchdb-server/bin/pouchdb-server"}

var pouchTool = tool{name: "npm pouchdb-server", ensure: pouchServer.ensure}

// CouchCorpusDB is the database of the planted people in couchdb-party;
// the ransom note is the one document of CouchRansomDB. CouchDB database
// names are lowercase.
const CouchCorpusDB = "users"

// CouchRansomDB is RansomName as a CouchDB database may be named.
var CouchRansomDB = strings.ToLower(RansomName)

// couchBulk is the bulkier data every CouchDB configuration holds; orders
// holds a design document besides.
var couchBulk = map[string]int{"orders": 140, "sessions": 60}

// couchVariant is one CouchDB configuration.
type couchVariant struct {
	name   string
	want   gown.Status
	admin  bool // end the admin party: admins in the configuration
	secure bool // give every database _security members
	corpus bool
}

func couchVariants() []couchVariant {
	return []couchVariant{
		// Anonymous requests are server admins: full control.
		{name: "couchdb-party", want: gown.StatusOpen, corpus: true},
		// An admin is set, which protects only the configuration: every
		// database without _security members stays readable by anyone.
		{name: "couchdb-admin", want: gown.StatusOpen, admin: true},
		// An admin, and members on every database: nothing to read.
		{name: "couchdb-secured", want: gown.StatusRestricted, admin: true, secure: true},
	}
}

func couchConfigs() []config {
	var out []config
	for _, v := range couchVariants() {
		start := func(ctx context.Context, log io.Writer, s *Server) error { return startPouch(ctx, log, s, v) }
		if v.name == couchAdminConfig {
			start = startPouchAdmin
		}
		out = append(out, config{name: v.name, kind: "couchdb", pkgs: nodePackages, tools: []tool{pouchTool}, start: start})
	}
	// couchdb-tls is the usual way to add TLS to CouchDB: nginx terminating
	// it in front, here of couchdb-admin's PouchDB Server.
	return append(out, config{name: "couchdb-tls", kind: "couchdb", pkgs: slices.Concat(nodePackages, nginxPackages),
		tools: []tool{pouchTool}, start: startPouchTLS})
}

// couchAdminConfig is the configuration whose server couchdb-tls fronts.
const couchAdminConfig = "couchdb-admin"

// adminPouch returns the bed's couchdb-admin PouchDB Server, starting it on
// first use: couchdb-admin serves it directly, couchdb-tls behind nginx.
func (s *Server) adminPouch(ctx context.Context, log io.Writer) (*Server, error) {
	v, err := s.res.get(ctx, "couchdb-admin-pouch", func(ctx context.Context) (any, func() error, error) {
		up := &Server{Name: couchAdminConfig, Kind: "couchdb", res: s.res}
		var adm couchVariant
		for _, cv := range couchVariants() {
			if cv.name == couchAdminConfig {
				adm = cv
			}
		}
		err := startPouch(ctx, log, up, adm)
		return up, up.stop, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*Server), nil
}

// startPouchAdmin serves the shared admin-set PouchDB Server directly.
func startPouchAdmin(ctx context.Context, log io.Writer, s *Server) error {
	up, err := s.adminPouch(ctx, log)
	if err != nil {
		return err
	}
	s.proc, s.dir, s.Addr, s.LogPath, s.logFormat = up.proc, up.dir, up.Addr, up.LogPath, up.logFormat
	s.User, s.Password, s.Want = up.User, up.Password, up.Want
	s.stopMore = up.stop
	return nil
}

// startPouchTLS puts nginx serving TLS only in front of the shared
// admin-set PouchDB Server.
func startPouchTLS(ctx context.Context, log io.Writer, s *Server) error {
	up, err := s.adminPouch(ctx, log)
	if err != nil {
		return err
	}
	if err := s.startNginx(ctx, log, up.Addr, false, true, passAll); err != nil {
		return err
	}
	s.User, s.Password = up.User, up.Password
	s.Want = up.Want
	s.Want.TLS = gown.TLSRequired
	return nil
}

// startPouch runs pouchdb-server for v, plants its databases and then
// locks it as v says.
func startPouch(ctx context.Context, log io.Writer, s *Server, v couchVariant) error {
	script, err := pouchServer.path(ctx, log)
	if err != nil {
		return err
	}
	node, err := LookBin("node")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	s.LogPath, s.logFormat = filepath.Join(s.dir, "log.txt"), logPouch
	cfgPath := filepath.Join(s.dir, "config.json")
	cfg := fmt.Sprintf(`{"log": {"file": %q, "level": "info"}}`, s.LogPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	began := time.Now()
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: filepath.Join(s.dir, "stdout.txt"), bin: node, timeout: time.Minute,
		env: []string{"NO_UPDATE_NOTIFIER=1"},
		args: func(port uint16) []string {
			// -n: no copy of the log on stdout; the log file is the record.
			return []string{script, "--host", loopback.String(), "--port", strconv.Itoa(int(port)),
				"--dir", filepath.Join(s.dir, "db"), "--config", cfgPath, "-n", "--no-color"}
		},
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			// Logged once the port is bound; a failed bind ends the process.
			line := "pouchdb-server has started on http://" + addr.String() + "/"
			return func(context.Context) bool { return s.logHas(line) }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	up := time.Now()
	dbs, err := s.plantPouch(ctx, v)
	if err != nil {
		return err
	}
	s.Want = newTruth(v.want, dbs)
	s.Want.TLS = gown.TLSNone
	if v.corpus {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, CouchCorpusDB, []string{"ransom-note"}
	}
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s (start %s, plant %s)\n", v.name, s.Addr, s.proc.pid(),
		time.Since(began).Round(time.Millisecond), up.Sub(began).Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
	return nil
}

// logHas reports whether the server's own log holds text.
func (s *Server) logHas(text string) bool {
	b, err := os.ReadFile(s.LogPath)
	return err == nil && strings.Contains(string(b), text)
}

// couchReq is a request of the test bed's own, with the admin's
// credentials once there is an admin: an unauthenticated PUT then crashes
// pouchdb-server 4.2.0.
func (s *Server) couchReq(method, path string, body any) httpReq {
	r := httpReq{method: method, url: s.baseURL() + path, user: s.User, pass: s.Password}
	if body != nil {
		r.body, _ = json.Marshal(body)
	}
	return r
}

// plantPouch creates the databases (while anonymous requests may still
// write), then sets the admin and the _security members v asks for, and
// returns the documents per database.
func (s *Server) plantPouch(ctx context.Context, v couchVariant) (map[string]uint64, error) {
	c := httpClient(false)
	docs := map[string][]any{}
	for db, n := range couchBulk {
		for i := range n {
			docs[db] = append(docs[db], map[string]any{"_id": fmt.Sprintf("%s-%04d", db, i), "n": i, "kind": db})
		}
	}
	// A design document, as apps keep their views: CouchDB counts it in
	// doc_count, and sampling must skip it.
	docs["orders"] = append(docs["orders"], map[string]any{"_id": "_design/app",
		"views": map[string]any{"by_kind": map[string]string{"map": "function(d){emit(d.kind)}"}}})
	if v.corpus {
		for _, p := range People {
			d := personDoc(p)
			d["_id"] = p.ID
			docs[CouchCorpusDB] = append(docs[CouchCorpusDB], d)
		}
		docs[CouchRansomDB] = []any{map[string]string{"_id": "README", "message": RansomMessage}}
	}
	dbs := map[string]uint64{}
	for db, list := range docs {
		if _, err := s.couchReq("PUT", "/"+db, nil).must(ctx, c); err != nil {
			return nil, fmt.Errorf("testbed: plant %s: %w", s.Name, err)
		}
		if _, err := s.couchReq("POST", "/"+db+"/_bulk_docs", map[string]any{"docs": list}).must(ctx, c); err != nil {
			return nil, fmt.Errorf("testbed: plant %s: %w", s.Name, err)
		}
		dbs[db] = uint64(len(list))
	}
	if v.admin {
		// The last unauthenticated write: from here on every request of
		// the bed carries the admin's credentials.
		pw := secret()
		if _, err := s.couchReq("PUT", "/_config/admins/"+couchAdmin, pw).must(ctx, c); err != nil {
			return nil, fmt.Errorf("testbed: %s: set admin: %w", s.Name, err)
		}
		s.User, s.Password = couchAdmin, pw
	}
	if v.secure {
		for db := range dbs {
			if err := s.SecureCouchDB(ctx, db); err != nil {
				return nil, err
			}
		}
	}
	for db, n := range dbs {
		var info struct {
			DocCount uint64 `json:"doc_count"`
		}
		b, err := s.couchReq("GET", "/"+db, nil).must(ctx, c)
		if err == nil {
			err = json.Unmarshal(b, &info)
		}
		if err != nil {
			return nil, fmt.Errorf("testbed: %s: %w", s.Name, err)
		}
		if info.DocCount != n {
			return nil, fmt.Errorf("testbed: %s: database %s holds %d documents, planted %d", s.Name, db, info.DocCount, n)
		}
	}
	return dbs, nil
}

// couchAdmin is the admin the test bed sets where the admin party ends.
const couchAdmin = "gown-testbed"

// SecureCouchDB gives a database of a CouchDB configuration with an admin
// _security members (a user nobody has), so that only they may read it.
// Tests that use it change the server: they must not share it.
func (s *Server) SecureCouchDB(ctx context.Context, db string) error {
	if s.Kind != "couchdb" || s.User == "" {
		return fmt.Errorf("testbed: %s has no CouchDB admin to secure %s with", s.Name, db)
	}
	body := map[string]any{"admins": map[string]any{"names": []string{}, "roles": []string{}},
		"members": map[string]any{"names": []string{"bob"}, "roles": []string{}}}
	if _, err := s.couchReq("PUT", "/"+db+"/_security", body).must(ctx, httpClient(false)); err != nil {
		return fmt.Errorf("testbed: %s: secure %s: %w", s.Name, db, err)
	}
	return nil
}

// checkCouch asks from Source what a scan would: /_session (admin party or
// not) and each planted database, which must answer with its planted
// count where the truth is open, and 401 where it is restricted.
func (s *Server) checkCouch(ctx context.Context) error {
	c := httpClient(true)
	base := s.baseURL()
	var sess struct {
		UserCtx struct {
			Roles []string `json:"roles"`
		} `json:"userCtx"`
	}
	if code, err := getJSON(ctx, c, base+"/_session", nil, &sess); err != nil || code != http.StatusOK {
		return fmt.Errorf("testbed: %s: GET /_session: %d %v", s.Name, code, err)
	}
	party := strings.Contains(strings.Join(sess.UserCtx.Roles, ","), "_admin")
	if party != (s.User == "") {
		return fmt.Errorf("testbed: %s: anonymous roles %v, admin set %v", s.Name, sess.UserCtx.Roles, s.User != "")
	}
	for db, n := range s.Want.Databases {
		var info struct {
			DocCount uint64 `json:"doc_count"`
		}
		code, err := getJSON(ctx, c, base+"/"+db, nil, &info)
		if err != nil {
			return fmt.Errorf("testbed: %s: %w", s.Name, err)
		}
		switch {
		case s.Want.Status == gown.StatusOpen && (code != http.StatusOK || info.DocCount != n):
			return fmt.Errorf("testbed: %s: GET /%s: %d, %d documents, truth %d", s.Name, db, code, info.DocCount, n)
		case s.Want.Status == gown.StatusRestricted && code != http.StatusUnauthorized:
			return fmt.Errorf("testbed: %s: GET /%s answered %d, want 401", s.Name, db, code)
		}
	}
	return nil
}
