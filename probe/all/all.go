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
// the client-first ones (probe/detect.go); the server-first one, MySQL, is
// tried alone on a port that greets. All start at once when the per-host
// limit leaves room; when it does not they run in this order, each costing
// the first-byte deadline (1 s) where the server ignores its request. So the
// requests every server answers or refuses at once come first: an HTTP
// request is refused at once by Redis (it closes on "GET"), memcached
// ("ERROR"), MongoDB and PostgreSQL (an impossible message length); Redis's
// and memcached's short lines draw an error from HTTP servers and each
// other; MongoDB's, PostgreSQL's and MQTT's binary packets, which a
// line-reading server waits on, come last. etcd is an HTTP API (its gRPC
// gateway) and goes with the HTTP probers.
func Registry() *probe.Registry {
	return probe.NewRegistry(
		mysql.New(),
		elasticsearch.New(),
		couchdb.New(),
		kibana.New(),
		couchbase.New(),
		etcd.New(),
		redis.New(),
		memcached.New(),
		mongodb.New(),
		postgres.New(),
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
