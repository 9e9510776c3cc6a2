package probetest

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
)

// mongoReads are the commands gown may send a MongoDB server: the probe's
// and sampling's, all reads.
var mongoReads = map[string]bool{"hello": true, "isMaster": true, "buildInfo": true, "listDatabases": true,
	"getLog": true, "dbStats": true, "listCollections": true, "find": true}

// mqttReads are what gown may send an MQTT broker: a connection, CONNECT,
// SUBSCRIBE, PINGREQ, DISCONNECT; never PUBLISH.
var mqttReads = map[string]bool{"connection": true, "CONNECT": true, "SUBSCRIBE": true, "PINGREQ": true, "DISCONNECT": true}

// etcdReads are the v3 methods gown may call on etcd.
var etcdReads = map[string]bool{"/etcdserverpb.KV/Range": true, "/etcdserverpb.Maintenance/Status": true}

// TestReadOnlyStores scans every MongoDB, search, Kibana, CouchDB,
// Couchbase, Firebase, MQTT, etcd, S3, GCS, Azure Blob and Firestore (stand-in) configuration with the whole
// engine, sampling on, and reads in each server's own log what arrived
// after a mark: FerretDB's debug log (every command), the OpenSearch and
// Elasticsearch HTTP tracer, nginx's access log in front of OpenSearch,
// PouchDB Server's request log, the CouchbaseMock launcher's request log,
// the Kibana stand-ins' request logs, firebase-server's debug log (method
// and path of each REST request), moto's and fake-gcs-server's request
// logs, Azurite's debug log, mosquitto's debug log (each packet received, each connection) and
// etcd's debug log (each v3 request). Any command off the read list, any
// HTTP method but GET and HEAD, any MQTT PUBLISH and any etcd method but
// Range and Status fails.
func TestReadOnlyStores(t *testing.T) {
	var names []string
	for _, k := range []string{"mongodb", "elasticsearch", "kibana", "couchdb", "couchbase", "firebase", "mqtt", "etcd", "s3", "gcs", "azblob", "firestore"} {
		names = append(names, testbed.NamesOf(k)...)
	}
	bed := testbed.Require(t, names...)
	marks := map[string]int64{}
	for _, s := range bed.Servers {
		marks[s.Name] = s.LogSize()
	}
	// Analyze set, so that the engine samples the open stores too.
	sampled := map[string]int{}
	var mu sync.Mutex
	eng, err := probe.New(probe.Config{Workers: 8, Timeout: 30 * time.Second, Sample: probe.DefaultSample,
		Dialer: probe.DialerConfig{Source: testbed.Source},
		Analyze: func(r *gown.Result, samples []gown.Sample, _ bool) {
			mu.Lock()
			defer mu.Unlock()
			sampled[r.Target.Dial()] = len(samples)
		}}, all.Registry())
	if err != nil {
		t.Fatal(err)
	}
	in, _ := feed(bed.Servers)
	seen := map[gown.Status]int{}
	if err := eng.Run(t.Context(), in, func(r *gown.Result) { seen[r.Status]++ }); err != nil {
		t.Fatal(err)
	}
	if seen[gown.StatusOpen] == 0 {
		t.Fatalf("verdicts %v: no open server, the logs would prove little", seen)
	}
	// Servers log a request as they answer it, from another thread.
	time.Sleep(300 * time.Millisecond)

	for _, s := range bed.Servers {
		var got []string
		if s.Kind == "etcd" {
			reqs, err := s.EtcdRequests(marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range reqs {
				got = append(got, q)
				if !etcdReads[q] {
					t.Errorf("%s: etcd's log shows %s from the scan", s.Name, q)
				}
			}
		} else if s.Kind == "mqtt" {
			pkts, err := s.MQTTPackets(marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pkts {
				got = append(got, p.Type)
				if !mqttReads[p.Type] {
					t.Errorf("%s: mosquitto's log shows %s from the scan: %s", s.Name, p.Type, p.Line)
				}
				if p.Type == "connection" && p.Client != testbed.Source.String() {
					t.Errorf("%s: a connection from %s", s.Name, p.Client)
				}
			}
		} else if s.Kind == "mongodb" {
			cmds, err := s.MongoCommands(marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cmds {
				got = append(got, c.Name)
				if !mongoReads[c.Name] {
					t.Errorf("%s: FerretDB's log shows %q from the scan, not a read", s.Name, c.Name)
				}
			}
		} else {
			reqs, err := s.HTTPLog(marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				// The trace of the node behind opensearch-tls shows nginx's
				// connections (127.0.0.1), which carry the scan's requests.
				if r.Bed {
					continue
				}
				got = append(got, r.String())
				if r.Method != "GET" && r.Method != "HEAD" {
					t.Errorf("%s: its log shows %s from the scan", s.Name, r)
				}
				if r.Client != "" && r.Client != testbed.Source.String() && r.Client != "127.0.0.1" {
					t.Errorf("%s: a request from %s", s.Name, r.Client)
				}
			}
		}
		if len(got) == 0 {
			t.Errorf("%s: its log shows nothing from the scan: the check proves nothing", s.Name)
		}
		slices.Sort(got)
		t.Logf("%-20s %-27s %3d requests (%d records sampled): %s", s.Name, s.LogName(), len(got),
			sampled[TargetOf(kindOf(s), s).Dial()], strings.Join(slices.Compact(got), ", "))
	}
}
