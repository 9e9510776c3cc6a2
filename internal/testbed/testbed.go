// Package testbed starts real data stores on loopback in known
// configurations, plants data in them, and records the ground truth a scan of
// each must report. Tests use it through Require; `gown demo` through Start.
//
// Every server listens on a free port of 127.0.0.0/8 (never a default port),
// keeps its data under a temp folder, runs in its own process group and dies
// with the process that started it. Stop ends only those processes.
//
// The test bed writes to the stores it starts (to plant data); gown never
// does. Scans must dial from Source so that protected-mode Redis treats them
// as remote clients.
package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gownscan/gown"
)

// Source is the client address scans of the test bed must dial from.
// Protected-mode Redis accepts only 127.0.0.1 and ::1 as local, so a client
// on 127.0.0.2 is refused the way a remote one would be, while traffic stays
// on loopback.
var Source = netip.MustParseAddr("127.0.0.2")

// Server is one running store in one configuration.
type Server struct {
	Name string         // the config name, e.g. "redis-open"
	Kind string         // prober name: "redis", "mysql", "postgres", "memcached", "mongodb", "elasticsearch", "kibana", "couchdb", "couchbase", "firebase", "mqtt", "etcd", "s3", "gcs", "azblob" or "firestore"
	Addr netip.AddrPort // where it listens (127.x.y.z only)
	// Host is the name an app gives a store reached only by name (an S3
	// bucket's BUCKET.s3.amazonaws.com), mapped to Addr; "" for the others
	// (Firebase's is FirebaseHost).
	Host string
	// Path is the data the URL path names under Host (gown.Target.Path):
	// an Azure container ("/gown-container-public"), a Firestore database
	// (FirestorePath); "" for the others.
	Path string
	// Names are the names an app gives for data under Path that cannot be
	// listed (gown.Target.Names): the Firestore stand-ins' app-only
	// collection.
	Names string
	// User and Password are the account the test bed set a password for:
	// "" and the requirepass for redis-password, the admin user for
	// redis-acl, "root" for mariadb-password, "postgres" for
	// postgres-scram and postgres-tls, the -Y or SASL user for
	// memcached-auth and memcached-sasl, "admin" for mongodb-auth (the
	// FerretDB setup user), the basic-auth user for opensearch-nginx, the
	// CouchDB admin for couchdb-admin, couchdb-secured and couchdb-tls.
	// For tests only; gown never prints them.
	User     string
	Password string
	Want     Truth // ground truth planted
	// LogPath is the server's own log of what it received: MariaDB's
	// general_log (read with GeneralLog, ScanLog), PostgreSQL's stderr with
	// log_statement=all (PostgresLog, PostgresStatements), memcached's -vv
	// stderr (MemcachedCommands), FerretDB's debug log (MongoCommands), and
	// for the HTTP stores (HTTPLog) the OpenSearch or Elasticsearch HTTP
	// tracer, nginx's access log in front of a store, PouchDB Server's
	// request log, firebase-server's debug log. LogSize gives a mark to
	// read from; LogName says which log it is.
	LogPath string
	// TLS is set where the server speaks only TLS (opensearch-tls,
	// couchdb-tls, mongodb-tls): the test bed's own clients use it too.
	TLS bool
	// StandIn marks a server that is NOT the real product: a loopback
	// listener of the test bed replaying documented responses, for a store
	// no real server can be had for here (Kibana). Its name says so too
	// ("kibana-standin-open").
	StandIn bool

	logFormat int    // how LogPath records HTTP requests (HTTPLog)
	dir       string // temp folder holding data, socket and logs
	sock      string // unix socket the test bed uses for setup and control
	proc      *proc
	res       *resources // the bed's shared processes
	// stopMore stops what the server started beside proc (nginx's
	// upstream for a front of its own); nil for most.
	stopMore func() error

	pgSuper string // PostgreSQL superuser the bed uses, when not postgres

	mu       sync.Mutex
	setupIDs map[uint32]bool // MariaDB connection ids opened by the test bed over TCP
}

// Truth is what a correct scan reports for a server.
type Truth struct {
	Status gown.Status // the verdict gown must give
	// Databases counts planted items per non-system database: Redis "db0"
	// → keys, MariaDB schema → rows, PostgreSQL database → live rows of
	// its user tables, memcached "cache" → items, MongoDB database →
	// documents (dbStats objects), search index → documents, CouchDB
	// database → doc_count (design documents included), Firebase
	// top-level key → its children.
	Databases map[string]uint64
	// Items is the sum of Databases, except for Firebase, which has no
	// size API and whose inventory counts top-level keys: there it is the
	// number of keys; and where Uncounted is set: there it is 0.
	Items uint64
	// Uncounted is set where the server's own API reports no item counts,
	// so that a correct scan can name each planted database but count none
	// of it: CouchbaseMock's bucket list carries no basicStats, where a
	// real Couchbase Server gives itemCount. Databases still holds what was
	// planted (and read back over the data port); Items is 0, as gown's
	// inventory counts what the server reports.
	Uncounted bool
	// Unsized is set where the server lets the data be read but refuses
	// every request that would tell its size (opensearch-search-only:
	// only searches pass; redis-readonly: INFO, which holds used_memory,
	// is refused), so a correct scan counts the items and reports 0 bytes.
	Unsized bool
	// TLS is the TLS mode a correct scan reports, where the test bed
	// asserts one (PostgreSQL, memcached, MongoDB, the HTTP stores);
	// TLSUnknown elsewhere. postgres-tls offers TLS with a self-signed
	// certificate for CN=gown-testbed-postgres; mongodb-tls, opensearch-tls
	// and couchdb-tls require it, each with a self-signed certificate for
	// CN=gown-testbed-<config name> valid for a day.
	TLS gown.TLSMode
	// Classes are the sensitive-data classes sampling must find (the
	// planted corpus, PIIClasses, in the database named PIIDatabase);
	// Signs the compromise sign kinds ("ransom-note", "redis-cron") it
	// must report. Empty where nothing was planted or the store is closed
	// to gown. The open configurations holding the corpus: redis-open,
	// mariadb-open, postgres-trust, memcached-open, mongodb-open
	// (database appdata), opensearch-open, opensearch-tls and
	// elasticsearch7-open (index users), couchdb-party (database users),
	// firebase-open (key users). The ransom note is named RansomName, in
	// lower case where the store wants it (search indices, CouchDB).
	Classes     []string
	PIIDatabase string
	Signs       []string
}

// Bed is a set of running servers.
type Bed struct {
	Servers []*Server

	res      *resources // processes shared by several servers; nil in a view of a shared bed
	stopOnce sync.Once
	stopErr  error
}

// config is one named configuration and how to bring it up.
type config struct {
	name string
	kind string
	// pkgs lists the Debian packages and the programs each must provide.
	pkgs []pkg
	// tools lists what else the configuration needs (npm packages, builds).
	tools []tool
	start func(ctx context.Context, log io.Writer, s *Server) error
}

// pkg is a Debian package and how to tell it is installed: the programs it
// provides. An entry with a slash is a glob of a file instead, for packages
// of libraries only (SASL plugins), as exec.LookPath takes a name with a
// slash for a path.
type pkg struct {
	name string
	bins []string
}

// configs is the one list of configurations; adding a store adds its
// entries here.
// It is built on first use, not at every start of gown.
var configs = sync.OnceValue(func() []config {
	return slices.Concat(redisConfigs(), mariadbConfigs(), postgresConfigs(), memcachedConfigs(),
		mongoConfigs(), searchConfigs(), kibanaConfigs(), couchConfigs(), couchbaseConfigs(), firebaseConfigs(),
		mqttConfigs(), etcdConfigs(), s3Configs(), gcsConfigs(), azblobConfigs(), firestoreConfigs())
})

// Names returns every known configuration name.
func Names() []string {
	names := make([]string, len(configs()))
	for i, c := range configs() {
		names[i] = c.name
	}
	return names
}

func lookup(name string) (config, bool) {
	i := slices.IndexFunc(configs(), func(c config) bool { return c.name == name })
	if i < 0 {
		return config{}, false
	}
	return configs()[i], true
}

// Start installs what is missing, starts the named configurations (all of
// them when none is named) in parallel, plants their data, checks each
// answers a client on Source as its Truth says, and returns once all are
// ready. ctx bounds the startup only: the servers run until Stop. On error
// every server already started is stopped.
func Start(ctx context.Context, log io.Writer, names ...string) (*Bed, error) {
	res := newResources()
	b, err := start(ctx, log, res, names)
	if err != nil {
		return nil, errors.Join(err, res.stopAll())
	}
	b.res = res
	return b, nil
}

// start is Start with the shared processes to use (a shared bed's, or a
// new set). The bed it returns does not own res: on error it stops only
// the servers.
func start(ctx context.Context, log io.Writer, res *resources, names []string) (*Bed, error) {
	began := time.Now()
	if log == nil {
		log = io.Discard
	}
	log = &lockedWriter{w: log}
	if len(names) == 0 {
		names = Names()
	}
	cfgs, err := resolve(names)
	if err != nil {
		return nil, err
	}
	if err := ensureConfigs(ctx, log, cfgs); err != nil {
		return nil, err
	}
	b := &Bed{}
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i, c := range cfgs {
		s := &Server{Name: c.name, Kind: c.kind, res: res}
		b.Servers = append(b.Servers, s)
		wg.Go(func() {
			if err := c.start(ctx, log, s); err != nil {
				errs[i] = fmt.Errorf("testbed: %s: %w", c.name, err)
				return
			}
			if err := s.Check(ctx); err != nil {
				errs[i] = fmt.Errorf("testbed: %s: %w", c.name, err)
				return
			}
			s.settleLog(ctx)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, b.Stop())
	}
	fmt.Fprintf(log, "testbed: %d servers ready in %s\n", len(b.Servers), time.Since(began).Round(time.Millisecond))
	return b, nil
}

// resolve maps names to configs, refusing unknown and repeated names.
func resolve(names []string) ([]config, error) {
	var out []config
	for _, n := range names {
		c, ok := lookup(n)
		if !ok {
			return nil, fmt.Errorf("testbed: unknown config %q (known: %v)", n, Names())
		}
		if slices.ContainsFunc(out, func(o config) bool { return o.name == n }) {
			return nil, fmt.Errorf("testbed: config %q named twice", n)
		}
		out = append(out, c)
	}
	return out, nil
}

// EnsureAll installs every package any configuration needs, and the
// services gown runs on in tests (nats-server for the queue). Running it
// once before `go test ./...` keeps the parallel test binaries from
// queueing on the dpkg lock one after another.
func EnsureAll(ctx context.Context, log io.Writer) error {
	if log == nil {
		log = io.Discard
	}
	if err := ensure(ctx, log, natsPackage); err != nil {
		return err
	}
	return ensureConfigs(ctx, log, configs())
}

// ensureConfigs installs each package the configs need, once, then each
// tool (npm packages, builds), which may need those packages.
func ensureConfigs(ctx context.Context, log io.Writer, cfgs []config) error {
	seen := map[string]bool{}
	for _, c := range cfgs {
		for _, p := range c.pkgs {
			if seen[p.name] {
				continue
			}
			seen[p.name] = true
			if err := ensure(ctx, log, p); err != nil {
				return err
			}
		}
	}
	for _, c := range cfgs {
		for _, tl := range c.tools {
			if seen["tool:"+tl.name] {
				continue
			}
			seen["tool:"+tl.name] = true
			if err := tl.ensure(ctx, log); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get returns the server of the named configuration, or nil.
func (b *Bed) Get(name string) *Server {
	for _, s := range b.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Stop ends the processes the bed started and removes their folders. It is
// safe to call more than once.
func (b *Bed) Stop() error {
	b.stopOnce.Do(func() {
		var wg sync.WaitGroup
		errs := make([]error, len(b.Servers))
		for i, s := range b.Servers {
			wg.Go(func() { errs[i] = s.stop() })
		}
		wg.Wait()
		b.stopErr = errors.Join(append(errs, b.res.stopAll())...)
	})
	return b.stopErr
}

// stop ends one server and removes its folder.
func (s *Server) stop() error {
	err := s.proc.stop()
	if s.stopMore != nil {
		err = errors.Join(err, s.stopMore())
	}
	if s.dir != "" {
		if rerr := os.RemoveAll(s.dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("testbed: remove %s: %w", s.dir, rerr))
		}
	}
	return err
}

// Dialer returns a dialer whose connections leave from Source, as every
// scan of the test bed must.
func Dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(Source, 0)), Timeout: 5 * time.Second}
}

// Check dials the server from Source and verifies that its first answer
// matches Want.Status, so the truth handed to tests is observed, not assumed.
func (s *Server) Check(ctx context.Context) error {
	switch s.Kind {
	case "redis":
		return s.checkRedis(ctx)
	case "mysql":
		return s.checkMariaDB(ctx)
	case "postgres":
		return s.checkPostgres(ctx)
	case "memcached":
		return s.checkMemcached(ctx)
	case "mongodb":
		return s.checkMongo(ctx)
	case "elasticsearch":
		return s.checkSearch(ctx)
	case "kibana":
		return s.checkKibana(ctx)
	case "couchdb":
		return s.checkCouch(ctx)
	case "couchbase":
		return s.checkCouchbase(ctx)
	case "firebase":
		return s.checkFirebase(ctx)
	case "mqtt":
		return s.checkMQTT(ctx)
	case "etcd":
		return s.checkEtcd(ctx)
	case "s3":
		return s.checkS3(ctx)
	case "gcs":
		return s.checkGCS(ctx)
	case "azblob":
		return s.checkAzblob(ctx)
	case "firestore":
		return s.checkFirestore(ctx)
	}
	return fmt.Errorf("testbed: no check for kind %q", s.Kind)
}

// newTruth builds a Truth with its sum.
func newTruth(status gown.Status, dbs map[string]uint64) Truth {
	t := Truth{Status: status, Databases: dbs}
	for _, n := range dbs {
		t.Items += n
	}
	return t
}

// lockedWriter lets parallel startups share one log without interleaving
// within a write.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// connDeadline makes c honour ctx: its deadline is ctx's (or fallback from
// now when ctx has none), and cancelling ctx unblocks pending reads. The
// returned func detaches the cancellation hook.
func connDeadline(ctx context.Context, c net.Conn, fallback time.Duration) func() bool {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else if fallback > 0 {
		c.SetDeadline(time.Now().Add(fallback))
	}
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}
