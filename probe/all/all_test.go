package all

import (
	"fmt"
	"slices"
	"testing"
)

// TestCatalog pins the one table of schemes as gown ships it: a change here
// changes what every typed URL and every URL in an app means.
func TestCatalog(t *testing.T) {
	c := Catalog()
	want := map[string]string{ // scheme → store port tls
		"redis": "redis 6379 false", "rediss": "redis 6379 true",
		"mysql": "mysql 3306 false", "mariadb": "mysql 3306 false",
		"postgres": "postgres 5432 false", "postgresql": "postgres 5432 false",
		"mongodb": "mongodb 27017 false", "mongodb+srv": "mongodb 27017 true",
		"memcached": "memcached 11211 false", "elasticsearch": "elasticsearch 9200 false", "kibana": "kibana 5601 false",
		"couchdb": "couchdb 5984 false", "couchbase": "couchbase 8091 false", "couchbases": "couchbase 18091 true",
		"firebase": "firebase 443 true", "mqtt": "mqtt 1883 false", "mqtts": "mqtt 8883 true", "etcd": "etcd 2379 false",
		"http": " 80 false", "https": " 443 true", "ws": " 80 false", "wss": " 443 true",
		"amqp": " 5672 false", "amqps": " 5671 true", "cassandra": " 9042 false", "neo4j": " 7687 false", "bolt": " 7687 false",
	}
	got := map[string]string{}
	for _, name := range c.Schemes() {
		store, s, ok := c.Scheme(name)
		if !ok || s.Name != name {
			t.Errorf("Schemes() lists %q but Scheme(%q) = %+v, %v", name, name, s, ok)
		}
		got[name] = fmt.Sprintf("%s %d %t", store, s.Port, s.TLS)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("scheme %s: %q, want %q", name, got[name], w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("scheme %s (%s) is not pinned here", name, got[name])
		}
	}

	var hintOnly, serverFirst []string
	reg := Registry()
	for _, k := range c.Kinds() {
		if p, ok := reg.Get(k.Name); !ok || !slices.Equal(p.Kind().Ports, k.Ports) {
			t.Errorf("kind %s is not its prober's", k.Name)
		}
		if k.HintOnly {
			hintOnly = append(hintOnly, k.Name)
		}
		if k.ServerFirst {
			serverFirst = append(serverFirst, k.Name)
		}
	}
	if fmt.Sprint(hintOnly, serverFirst) != "[firebase s3 gcs azblob firestore] [mysql]" {
		t.Errorf("hint-only %v, server-first %v", hintOnly, serverFirst)
	}
	if k, ok := c.HostKind("shop-1.europe-west1.firebasedatabase.app"); !ok || k.Name != "firebase" {
		t.Errorf("HostKind = %+v, %v", k, ok)
	}
	if got := fmt.Sprint(reg.Ports()); got != "[1883 2379 3306 5432 5601 5984 6379 6380 6984 8091 8883 9200 9243 11211 18091 27017 27018 27019]" {
		t.Errorf("default ports %s", got)
	}
	if c != Catalog() {
		t.Error("Catalog() builds a new table on each call")
	}
}
