// Package all is the explicit list of every prober gown ships, and the
// catalog of their store kinds that target parsing and extraction read.
// Adding a store is one folder under probe/ (with its descriptor) and one
// line here.
package all

import (
	"sync"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/couchbase"
	"github.com/gownscan/gown/probe/couchdb"
	"github.com/gownscan/gown/probe/elasticsearch"
	"github.com/gownscan/gown/probe/etcd"
	"github.com/gownscan/gown/probe/firebase"
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

// Registry returns a registry of every prober, in the order auto-detection
// tries client-first protocols (server-first ones, like MySQL, go first).
func Registry() *probe.Registry {
	return probe.NewRegistry(
		mysql.New(),
		redis.New(),
		postgres.New(),
		memcached.New(),
		mongodb.New(),
		elasticsearch.New(),
		kibana.New(),
		couchdb.New(),
		couchbase.New(),
		mqtt.New(),
		etcd.New(),
		firebase.New(), // hint-only: reached through a firebase URL's hint
		s3.New(),       // hint-only: reached through a bucket host's hint
		gcs.New(),      // hint-only: reached through a bucket host's hint
	)
}

// catalog is built once: it is plain, read-only data.
var catalog = sync.OnceValue(func() *gown.Catalog { return Registry().Catalog() })

// Catalog returns the catalog of every prober's kind: the one table of store
// names, ports, URL schemes and host suffixes. Target parsing and extraction
// take it whichever probers a scan selects, so a URL always means the same.
func Catalog() *gown.Catalog { return catalog() }
