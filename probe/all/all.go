// Package all is the explicit list of every prober gown ships. Adding a store
// is one folder under probe/ and one line here.
package all

import (
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/couchbase"
	"github.com/gownscan/gown/probe/couchdb"
	"github.com/gownscan/gown/probe/elasticsearch"
	"github.com/gownscan/gown/probe/firebase"
	"github.com/gownscan/gown/probe/kibana"
	"github.com/gownscan/gown/probe/memcached"
	"github.com/gownscan/gown/probe/mongodb"
	"github.com/gownscan/gown/probe/mysql"
	"github.com/gownscan/gown/probe/postgres"
	"github.com/gownscan/gown/probe/redis"
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
		firebase.New(), // no ports: reached through a firebase URL's hint only
	)
}
