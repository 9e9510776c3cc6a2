// Package all is the explicit list of every prober gown ships, and the
// catalog of their store kinds that target parsing and extraction read.
// Adding a store is one folder under probe/ (with its descriptor) and one
// line here.
package all

import (
	"sync"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/azblob"
	"github.com/gownscan/gown/probe/couchbase"
	"github.com/gownscan/gown/probe/couchdb"
	"github.com/gownscan/gown/probe/elasticsearch"
	"github.com/gownscan/gown/probe/etcd"
	"github.com/gownscan/gown/probe/firebase"
	"github.com/gownscan/gown/probe/firestore"
	"github.com/gownscan/gown/probe/gcs"
	"github.com/gownscan/gown/probe/kibana"
	"github.com/gownscan/gown/probe/memcached"
	"github.com/gownscan/gown/probe/mongodb"
	"github.com/gownscan/gown/probe/mqtt"
	"github.com/gownscan/gown/probe/mysql"
	"github.com/gownscan/gown/probe/postgres"
	"github.com/gownscan/gown/probe/redis"
	"github.com/gownscan/gown/probe/s3"
)

// Registry returns a registry of every prober, in the order detection starts
// the client-first ones (probe/detect.go), RaceWidth (4) at a time, the next
// as one ends; the server-first one, MySQL, is tried alone on a port that
// greets. A racer that meets the wrong server costs what that server makes
// of its request: a refusal at once costs one round trip, a wait costs the
// first-byte deadline (1 s) until the target has reacted to some request
// and an answer wait (250 ms) after. So the requests every server answers or
// refuses at once come first: Redis's and memcached's short text lines draw
// an error or a close from HTTP servers, PostgreSQL, MongoDB, MQTT and each
// other. Elasticsearch, the most exposed store, joins them in the first
// stage; its GET to Redis draws a close without a reply and a TLS retry, a
// cost that only shows when the race runs one at a time (the per-host limit
// binding), and Redis's own prober, started with it, wins first anyway.
// PostgreSQL and MongoDB, the likeliest of the rest, follow: their binary
// messages make a line-reading server wait, but by then the target has
// mostly reacted, and they spare PostgreSQL most HTTP probers' connections
// (each a forked backend, two when the HTTP prober retries over TLS). The
// other HTTP stores come next, etcd with them (its gRPC gateway's HTTP API);
// MQTT, whose broker closes on any of the others' requests, comes last.
// TestDetectionOnBed measures the order on every test-bed server.
func Registry() *probe.Registry {
	return probe.NewRegistry(
		mysql.New(),
		redis.New(),
		memcached.New(),
		elasticsearch.New(),
		postgres.New(),
		mongodb.New(),
		couchdb.New(),
		kibana.New(),
		couchbase.New(),
		etcd.New(),
		mqtt.New(),
		firebase.New(),  // hint-only: reached through a firebase URL's hint
		s3.New(),        // hint-only: reached through a bucket host's hint
		gcs.New(),       // hint-only: reached through a bucket host's hint
		azblob.New(),    // hint-only: reached through a container URL's hint
		firestore.New(), // hint-only: reached through a Firebase project's database path
	)
}

// catalog is built once: it is plain, read-only data.
var catalog = sync.OnceValue(func() *gown.Catalog { return Registry().Catalog() })

// Catalog returns the catalog of every prober's kind: the one table of store
// names, ports, URL schemes and host suffixes. Target parsing and extraction
// take it whichever probers a scan selects, so a URL always means the same.
func Catalog() *gown.Catalog { return catalog() }
