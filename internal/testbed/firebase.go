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
	"strconv"
	"time"

	"github.com/gownscan/gown"
)

// firebase-open runs firebase-server 1.1.0 (npm, MIT; firebase@7.24.0
// pinned beside it), which serves the Realtime Database REST API over
// plaintext HTTP. Its REST API enforces no security rules, so it is always
// open: the locked case has only a replayed stand-in (probe/firebase). It
// ignores shallow=true and sends whole subtrees, so the children of each
// top-level key are known, where real Firebase sends true.

var firebaseServer = npmPackage{dir: "firebase", specs: []string{"firebase-server@1.1.0", "firebase@7.24.0"},
	main: "node_modules/firebase-server/bin/firebase-server.js"}

var firebaseTool = tool{name: "npm firebase-server", ensure: firebaseServer.ensure}

// FirebaseCorpusKey is the top-level key holding the planted people (by
// id); the ransom note is the top-level key RansomName holding
// {"message": RansomMessage}.
const FirebaseCorpusKey = "users"

// FirebaseHost is the name a scan gives the firebase-server target, as an
// app names its database; the server ignores the Host header.
const FirebaseHost = "gown-testbed.firebaseio.com"

// firebaseConfigs: firebase-open holds the corpus and some app data;
// firebase-empty holds nothing (the root reads null), still open.
func firebaseConfigs() []config {
	var out []config
	for _, name := range []string{"firebase-open", "firebase-empty"} {
		out = append(out, config{name: name, kind: "firebase", pkgs: nodePackages, tools: []tool{firebaseTool},
			start: func(ctx context.Context, log io.Writer, s *Server) error {
				return startFirebase(ctx, log, s, name == "firebase-open")
			}})
	}
	return out
}

// firebaseData is the database firebase-open starts with, and its truth:
// children per top-level key.
func firebaseData() (map[string]any, map[string]uint64) {
	users := map[string]any{}
	for _, p := range People {
		users[p.ID] = personDoc(p)
	}
	orders := map[string]any{}
	for i := range 25 {
		orders[fmt.Sprintf("o%03d", i)] = map[string]any{"user": People[i%len(People)].ID, "total": i * 3}
	}
	data := map[string]any{
		FirebaseCorpusKey: users,
		RansomName:        map[string]string{"message": RansomMessage},
		"orders":          orders,
		"config":          map[string]any{"theme": "dark", "version": 7, "maintenance": false},
	}
	return data, map[string]uint64{FirebaseCorpusKey: uint64(len(People)), RansomName: 1, "orders": 25, "config": 3}
}

// startFirebase runs firebase-server with the REST API and debug output,
// which logs every REST request's method and path, on a free port.
func startFirebase(ctx context.Context, log io.Writer, s *Server, planted bool) error {
	script, err := firebaseServer.path(ctx, log)
	if err != nil {
		return err
	}
	node, err := LookBin("node")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(s.Name); err != nil {
		return err
	}
	data, dbs := map[string]any{}, map[string]uint64{}
	if planted {
		data, dbs = firebaseData()
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	dataFile := filepath.Join(s.dir, "data.json")
	if err := os.WriteFile(dataFile, b, 0o600); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	s.LogPath, s.logFormat = filepath.Join(s.dir, "server.log"), logFirebase
	began := time.Now()
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: node, timeout: time.Minute,
		env: []string{"DEBUG=firebase-server", "DEBUG_COLORS=no", "NO_UPDATE_NOTIFIER=1"},
		args: func(port uint16) []string {
			return []string{script, "-e", "-v", "-a", loopback.String(), "-p", strconv.Itoa(int(port)), "-f", dataFile}
		},
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			// Logged after listen() was called; a failed bind ends the
			// process (EADDRINUSE is not handled).
			line := "Listening for connections on port " + strconv.Itoa(int(addr.Port()))
			return func(context.Context) bool { return logSays(p, line) }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	// The top-level keys, not their sum: Firebase has no size API and
	// gown counts keys.
	s.Want = newTruth(gown.StatusOpen, dbs)
	s.Want.Items = uint64(len(dbs))
	s.Want.TLS = gown.TLSNone
	if planted {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, FirebaseCorpusKey, []string{"ransom-note"}
	}
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s\n", s.Name, s.Addr, s.proc.pid(), time.Since(began).Round(time.Millisecond))
	return nil
}

// checkFirebase reads the root from Source and compares the children of
// each top-level key with the truth.
func (s *Server) checkFirebase(ctx context.Context) error {
	var root map[string]map[string]any
	code, err := getJSON(ctx, httpClient(true), s.baseURL()+"/.json", nil, &root)
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("testbed: %s: GET /.json: %d %v", s.Name, code, err)
	}
	if uint64(len(root)) != s.Want.Items {
		return fmt.Errorf("testbed: %s: %d top-level keys, truth %d", s.Name, len(root), s.Want.Items)
	}
	for k, n := range s.Want.Databases {
		if uint64(len(root[k])) != n {
			return fmt.Errorf("testbed: %s: key %s has %d children, truth %d", s.Name, k, len(root[k]), n)
		}
	}
	return nil
}
