package testbed

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gownscan/gown"
)

// The firestore configurations are STAND-INS, NOT Cloud Firestore. No
// Firestore server can run here: the Firebase emulators download their
// JARs at run time, and no registry reachable from this machine carries
// them. Each stand-in is an HTTPS listener of the test bed's own process
// (Server.StandIn, "standin" in its name; a self-signed certificate for
// CN=gown-testbed-<name>) that answers the REST API's documents.list,
//
//	GET /v1/projects/P/databases/(default)/documents/COLLECTION?pageSize=N
//
// the way Google documents it
// (https://firebase.google.com/docs/firestore/reference/rest/v1/projects.databases.documents/list,
// .../rest/Shared.Types/Value, google.rpc.Status): with open rules a
// ListDocumentsResponse ({"documents": [...], "nextPageToken": ...}; {} for
// a collection that holds no document); with closed rules 403 {"error":
// {"code": 403, "message": "Missing or insufficient permissions.", "status":
// "PERMISSION_DENIED"}}; for another project 404 NOT_FOUND. Anything but GET
// is 405. It keeps a request log in nginx's format (HTTPLog). Apps reach it
// as firestore.googleapis.com, mapped to its address.

// FirestoreProject is the Firebase project the stand-ins serve (the same
// project as gcs-open's bucket, gown-shop.appspot.com).
const FirestoreProject = "gown-shop"

// FirestoreHost is the REST API's host; FirestorePath the target path of
// the project's default database.
const (
	FirestoreHost = "firestore.googleapis.com"
	FirestorePath = "/v1/projects/" + FirestoreProject + "/databases/(default)"
)

// FirestoreAppCollection is a collection only the app's code names (no
// common name gown would guess): a scan finds it only through the names an
// app gives (Target.Names), as Server.Names carries it.
const FirestoreAppCollection = "rides"

// firestoreRides is how many documents it holds.
const firestoreRides = 4

// firestoreOrders is how many documents the orders collection holds: fewer
// than a page of gown's (20), so the first page is the whole collection.
const firestoreOrders = 12

type firestoreVariant struct {
	name string
	open bool
}

func firestoreConfigs() []config {
	var out []config
	for _, v := range []firestoreVariant{{"firestore-standin-open", true}, {"firestore-standin-locked", false}} {
		out = append(out, config{name: v.name, kind: "firestore", start: func(ctx context.Context, log io.Writer, s *Server) error {
			return startFirestoreStandIn(ctx, log, s, v)
		}})
	}
	return out
}

// fsDoc is one planted document: its id and string fields.
type fsDoc struct {
	id     string
	fields [][2]string
}

// firestoreData is the open stand-in's collections: the people (users),
// orders, the ransom note as a message, and rides, a name only the app
// gives.
func firestoreData() map[string][]fsDoc {
	data := map[string][]fsDoc{}
	for _, p := range People {
		data["users"] = append(data["users"], fsDoc{id: p.ID, fields: p.Fields()})
	}
	for i := range firestoreOrders {
		data["orders"] = append(data["orders"], fsDoc{id: fmt.Sprintf("o%03d", i),
			fields: [][2]string{{"user", People[i%len(People)].ID}, {"total", strconv.Itoa(i * 3)}}})
	}
	data["messages"] = []fsDoc{{id: RansomName, fields: [][2]string{{"message", RansomMessage}}}}
	for i := range firestoreRides {
		data[FirestoreAppCollection] = append(data[FirestoreAppCollection], fsDoc{id: fmt.Sprintf("r%02d", i),
			fields: [][2]string{{"vehicle", fmt.Sprintf("v%d", i%2)}, {"fare", strconv.Itoa(7 + i)}}})
	}
	return data
}

// startFirestoreStandIn serves v over TLS on a free loopback port until
// the bed stops.
func startFirestoreStandIn(_ context.Context, log io.Writer, s *Server, v firestoreVariant) error {
	began := time.Now()
	var err error
	if s.dir, err = tempDir(s.Name); err != nil {
		return err
	}
	certPEM, keyPEM, err := selfSigned("gown-testbed-" + s.Name)
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	s.LogPath, s.logFormat, s.StandIn, s.TLS = filepath.Join(s.dir, "requests.log"), logStandIn, true, true
	f, err := os.OpenFile(s.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	ln, err := net.Listen("tcp", netip.AddrPortFrom(loopback, 0).String())
	if err != nil {
		f.Close()
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	s.Addr = ln.Addr().(*net.TCPAddr).AddrPort()
	fs := &firestoreStandIn{open: v.open, data: firestoreData(), log: f}
	srv := &http.Server{Handler: fs, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ErrorLog:  stdlog.New(io.Discard, "", 0)} // handshakes a probe breaks off are no news
	srv.SetKeepAlivesEnabled(false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeTLS(ln, "", "")
	}()
	s.stopMore = func() error {
		err := srv.Close()
		<-done
		fs.mu.Lock()
		defer fs.mu.Unlock()
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return errors.Join(err, f.Close())
	}
	if !holdsListener(os.Getpid(), s.Addr) {
		return fmt.Errorf("testbed: %s: the kernel shows no listener of this process on %s", s.Name, s.Addr)
	}
	s.Host, s.Path, s.Names = FirestoreHost, FirestorePath, FirestoreAppCollection
	if v.open {
		dbs := map[string]uint64{}
		for c, docs := range fs.data {
			dbs[c] = uint64(len(docs))
		}
		s.Want = newTruth(gown.StatusOpen, dbs)
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, "users", []string{"ransom-note"}
		// The REST API reports no document sizes: gown counts documents.
		s.Want.Unsized = true
	} else {
		s.Want = newTruth(gown.StatusRestricted, nil)
	}
	s.Want.TLS = gown.TLSRequired
	rules := "closed rules: 403 PERMISSION_DENIED"
	if v.open {
		rules = "open rules: documents"
	}
	fmt.Fprintf(log, "testbed: %s: STAND-IN (not Firestore) replaying documents.list of project %s (%s) over TLS on %s, ready in %s\n",
		s.Name, FirestoreProject, rules, s.Addr, time.Since(began).Round(time.Microsecond))
	return nil
}

// firestoreStandIn answers documents.list.
type firestoreStandIn struct {
	open bool
	data map[string][]fsDoc
	mu   sync.Mutex
	log  *os.File
}

func (fs *firestoreStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, body := fs.reply(r)
	client, _, _ := net.SplitHostPort(r.RemoteAddr)
	opaque := r.Header.Get("X-Opaque-Id")
	if opaque == "" {
		opaque = "-"
	}
	fs.mu.Lock()
	fmt.Fprintf(fs.log, "%s %q %d %q\n", client, r.Method+" "+r.RequestURI+" "+r.Proto, code, opaque)
	fs.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// fsError is google.rpc.Status as the REST API sends it.
func fsError(code int, status, msg string) (int, string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
	return code, string(b)
}

func (fs *firestoreStandIn) reply(r *http.Request) (int, string) {
	if r.Method != http.MethodGet {
		return fsError(405, "INVALID_ARGUMENT", "Method not allowed.")
	}
	prefix := FirestorePath + "/documents/"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		if strings.HasPrefix(r.URL.Path, "/v1/projects/") {
			return fsError(404, "NOT_FOUND", "The database (default) does not exist for project in this location.")
		}
		return fsError(404, "NOT_FOUND", "Requested entity was not found.")
	}
	if !fs.open {
		return fsError(403, "PERMISSION_DENIED", "Missing or insufficient permissions.")
	}
	if rest == "" || strings.Contains(rest, "/") {
		return fsError(400, "INVALID_ARGUMENT", "Only collections are listed by this stand-in.")
	}
	size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
	if size <= 0 || size > 300 {
		size = 300
	}
	docs := fs.data[rest]
	if len(docs) == 0 {
		return 200, "{}\n" // an allowed read of a collection without documents
	}
	page := docs[:min(size, len(docs))]
	type value struct {
		StringValue string `json:"stringValue"`
	}
	var out struct {
		Documents []map[string]any `json:"documents"`
		Next      string           `json:"nextPageToken,omitempty"`
	}
	for _, d := range page {
		fields := map[string]value{}
		for _, f := range d.fields {
			fields[f[0]] = value{f[1]}
		}
		out.Documents = append(out.Documents, map[string]any{
			"name":       "projects/" + FirestoreProject + "/databases/(default)/documents/" + rest + "/" + d.id,
			"fields":     fields,
			"createTime": "2026-11-02T09:00:00.000000Z", "updateTime": "2026-11-02T09:00:00.000000Z"})
	}
	if len(docs) > size {
		out.Next = "AFTER-" + page[len(page)-1].id
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return 200, string(b) + "\n"
}

// checkFirestore lists users from Source over TLS: documents when open,
// PERMISSION_DENIED when locked.
func (s *Server) checkFirestore(ctx context.Context) error {
	url := "https://" + s.Addr.String() + FirestorePath + "/documents/users?pageSize=20"
	code, body, err := httpReq{method: "GET", url: url, header: map[string]string{"Host": s.Host}}.do(ctx, httpClient(true))
	if err != nil {
		return err
	}
	open := s.Want.Status == gown.StatusOpen
	if open && (code != 200 || !strings.Contains(string(body), `"documents"`)) || !open && (code != 403 || !strings.Contains(string(body), "PERMISSION_DENIED")) {
		return fmt.Errorf("documents.list of users: %d %.200s", code, body)
	}
	return nil
}
