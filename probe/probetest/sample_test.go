package probetest

import (
	"fmt"
	"maps"
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

// Read lists of sampling, beside the probe's (redisReads, memcachedReads,
// mongoReads).
var (
	redisSampleReads = map[string]bool{"SELECT": true, "SCAN": true, "TYPE": true, "STRLEN": true, "GET": true,
		"GETRANGE": true, "HLEN": true, "HGETALL": true, "HSCAN": true, "LRANGE": true, "ZRANGE": true, "SSCAN": true}
	memcachedSampleReads = []string{"lru_crawler metadump all", "get "}
)

// TestSamplingFindsThePlantedCorpus runs the engine with sampling on
// (probe.DefaultSample, through Config.Analyze) over every test-bed server
// where the corpus was planted, and checks that the samples hold every
// planted person of the truth's PIIDatabase and the ransom note, that no
// collection gave more than K records nor the store more than the byte
// cap, that a tiny byte cap cuts sampling short and says so, and, from
// each server's own log read from a mark, that sampling only read. Sample
// values are compared in memory and never logged (they are the planted
// secrets): the log shows counts and field paths.
func TestSamplingFindsThePlantedCorpus(t *testing.T) {
	bed := testbed.Require(t)
	reg := all.Registry()
	var planted []*testbed.Server
	for _, s := range bed.Servers {
		if len(s.Want.Classes) == 0 {
			continue
		}
		p, ok := reg.Get(s.Kind)
		if !ok {
			t.Errorf("%s: no prober", s.Name)
			continue
		}
		if _, ok := p.(probe.Sampler); !ok {
			t.Errorf("%s: the corpus is planted but the %s prober cannot sample", s.Name, s.Kind)
			continue
		}
		planted = append(planted, s)
	}
	if len(planted) == 0 {
		t.Fatal("no test-bed server holds the corpus: the test proves nothing")
	}
	logs := markLogs(t, planted)

	lim := probe.DefaultSample
	var mu sync.Mutex
	got := map[string][]gown.Sample{} // by server name
	truncated := map[string]bool{}
	results := map[string]*gown.Result{}
	in, byAddr := feed(planted)
	eng, err := probe.New(probe.Config{Workers: 8, Timeout: 30 * time.Second, Sample: lim,
		Dialer: probe.DialerConfig{Source: testbed.Source},
		Analyze: func(r *gown.Result, samples []gown.Sample, trunc bool) {
			mu.Lock()
			defer mu.Unlock()
			if s := byAddr[r.Target.Dial()]; s != nil {
				got[s.Name], truncated[s.Name], results[s.Name] = samples, trunc, r
				if strings.HasPrefix(r.Error, "sampling") {
					t.Errorf("%s: %s", s.Name, r.Error)
				}
			}
		}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(t.Context(), in, func(*gown.Result) {}); err != nil {
		t.Fatal(err)
	}

	for _, s := range planted {
		checkSamples(t, s, got[s.Name], truncated[s.Name], lim)
	}
	logs.check(t)
	for _, s := range planted {
		if r := results[s.Name]; r != nil {
			checkByteCap(t, s, r)
		}
	}
}

// checkSamples holds one server's samples against its truth.
func checkSamples(t *testing.T, s *testbed.Server, samples []gown.Sample, trunc bool, lim probe.SampleLimits) {
	t.Helper()
	perColl := map[[2]string]int{}
	var size int64
	var paths []string
	notes := 0
	for _, x := range samples {
		perColl[[2]string{x.Database, x.Collection}]++
		size += int64(x.Size())
		if holds(x, testbed.RansomBTC) {
			notes++
		}
		if x.Database == s.Want.PIIDatabase {
			for _, f := range x.Fields {
				paths = append(paths, f.Path)
			}
		}
	}
	for k, n := range perColl {
		if n > lim.PerCollection {
			t.Errorf("%s: %d records from %s/%s, over K=%d", s.Name, n, k[0], k[1], lim.PerCollection)
		}
	}
	if size > lim.Bytes || len(perColl) > lim.Collections {
		t.Errorf("%s: %d bytes from %d collections, over the caps", s.Name, size, len(perColl))
	}
	people := 0
	for _, p := range testbed.People {
		if missing := missingFields(samples, s.Want.PIIDatabase, p); len(missing) == 0 {
			people++
		} else {
			t.Errorf("%s: planted person %s: %d fields not sampled from %s: %v", s.Name, p.ID, len(missing), s.Want.PIIDatabase, missing)
		}
	}
	if slices.Contains(s.Want.Signs, "ransom-note") && notes == 0 {
		t.Errorf("%s: the planted ransom note was not sampled", s.Name)
	}
	slices.Sort(paths)
	t.Logf("%-20s %3d records, %6d bytes, %2d collections (truncated %v); people %d/%d, ransom note %v; paths in %s: %s",
		s.Name, len(samples), size, len(perColl), trunc, people, len(testbed.People), notes > 0, s.Want.PIIDatabase,
		strings.Join(slices.Compact(paths), " "))
}

// missingFields names the fields of p whose values no sample of database
// db holds, as a field value or as the record's key.
func missingFields(samples []gown.Sample, db string, p testbed.Person) []string {
	var missing []string
	for _, f := range p.Fields() {
		found := slices.ContainsFunc(samples, func(x gown.Sample) bool {
			return x.Database == db && (x.Key == f[1] || slices.ContainsFunc(x.Fields, func(g gown.Field) bool { return g.Value == f[1] }))
		})
		if !found {
			missing = append(missing, f[0])
		}
	}
	return missing
}

// holds reports whether any field of x, or its key, contains v.
func holds(x gown.Sample, v string) bool {
	for _, f := range x.Fields {
		if strings.Contains(f.Value, v) {
			return true
		}
	}
	return strings.Contains(x.Key, v)
}

// checkByteCap samples again with a byte cap below the corpus: sampling
// stops early, says so, and hands over no more than the cap.
func checkByteCap(t *testing.T, s *testbed.Server, r *gown.Result) {
	t.Helper()
	p, _ := all.Registry().Get(s.Kind)
	tiny := probe.DefaultSample
	tiny.Bytes = 300
	samples, trunc, err := probe.SampleStore(t.Context(), p, hinted(s), Dialer(t), r, tiny)
	size := 0
	for _, x := range samples {
		size += x.Size()
	}
	if err != nil || !trunc || size > int(tiny.Bytes) {
		t.Errorf("%s: byte cap %d: %d records, %d bytes, truncated %v, error %v", s.Name, tiny.Bytes, len(samples), size, trunc, err)
	}
	t.Logf("%-20s byte cap %d: %d records, %d bytes, truncated %v", s.Name, tiny.Bytes, len(samples), size, trunc)
}

// serverLogs is where each planted server's own log stood before the scan,
// so that only what the scan (probe and sampling) sent is read.
type serverLogs struct {
	servers  []*testbed.Server
	monitors map[string]*testbed.Monitor // Redis
	marks    map[string]int64            // byte offsets (LogSize)
	counts   map[string]int              // entries already in logs read whole
}

func markLogs(t *testing.T, servers []*testbed.Server) *serverLogs {
	t.Helper()
	l := &serverLogs{servers: servers, monitors: map[string]*testbed.Monitor{}, marks: map[string]int64{}, counts: map[string]int{}}
	for _, s := range servers {
		switch s.Kind {
		case "redis":
			m, err := s.Monitor(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			l.monitors[s.Name] = m
		case "mysql", "postgres", "memcached":
			l.counts[s.Name] = len(sqlOrText(t, s))
		default:
			l.marks[s.Name] = s.LogSize()
		}
	}
	return l
}

// sqlOrText reads a whole-file log: MariaDB's general log (what the scan's
// sessions sent), PostgreSQL's statements, memcached's requests, each as
// "command text".
func sqlOrText(t *testing.T, s *testbed.Server) []string {
	t.Helper()
	var out []string
	switch s.Kind {
	case "mysql":
		entries, err := s.ScanLog()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, e.Command+" "+e.Argument)
		}
	case "postgres":
		stmts, err := s.PostgresStatements()
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stmts {
			out = append(out, "Query "+st.SQL)
		}
	case "memcached":
		cmds, err := s.MemcachedCommands()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cmds {
			out = append(out, c.Text)
		}
	}
	return out
}

// check reads each log past its mark: every request the scan sent must be
// a read, and there must be some, or the check proves nothing. It logs
// command names and counts, never arguments that could carry values.
func (l *serverLogs) check(t *testing.T) {
	t.Helper()
	time.Sleep(300 * time.Millisecond) // servers log from other threads, as they answer
	for _, s := range l.servers {
		var kinds []string
		switch s.Kind {
		case "redis":
			for _, e := range l.monitors[s.Name].Entries() {
				if !strings.HasPrefix(e.Client, testbed.Source.String()+":") || len(e.Args) == 0 {
					continue
				}
				cmd := strings.ToUpper(e.Args[0])
				kinds = append(kinds, cmd)
				if !redisReads[cmd] && !redisSampleReads[cmd] {
					t.Errorf("%s MONITOR saw a command that is not a read: %q", s.Name, cmd)
				}
			}
		case "mysql", "postgres":
			for _, e := range sqlOrText(t, s)[l.counts[s.Name]:] {
				cmd, arg, _ := strings.Cut(e, " ")
				switch {
				case cmd == "Connect" || cmd == "Quit":
					kinds = append(kinds, cmd)
				case cmd == "Query" && strings.HasPrefix(strings.ToUpper(strings.TrimSpace(arg)), "SELECT "):
					kinds = append(kinds, "SELECT"+limitOf(arg))
				default:
					t.Errorf("%s log: the scan sent something that is not a SELECT: %s %.80q", s.Name, cmd, arg)
				}
			}
		case "memcached":
			for _, c := range sqlOrText(t, s)[l.counts[s.Name]:] {
				switch {
				case memcachedReads[c]:
					kinds = append(kinds, c)
				case c == memcachedSampleReads[0]:
					kinds = append(kinds, c)
				case strings.HasPrefix(c, memcachedSampleReads[1]):
					kinds = append(kinds, fmt.Sprintf("get (%d keys)", len(strings.Fields(c))-1))
				default:
					t.Errorf("%s -vv log: a request that is not a read: %q", s.Name, c)
				}
			}
		case "mqtt":
			pkts, err := s.MQTTPackets(l.marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pkts {
				kinds = append(kinds, p.Type)
				if !mqttReads[p.Type] {
					t.Errorf("%s: mosquitto's log shows %s from the scan: %s", s.Name, p.Type, p.Line)
				}
			}
		case "etcd":
			reqs, err := s.EtcdRequests(l.marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range reqs {
				kinds = append(kinds, q)
				if !etcdReads[q] {
					t.Errorf("%s: etcd's log shows %s from the scan", s.Name, q)
				}
			}
		case "mongodb":
			cmds, err := s.MongoCommands(l.marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cmds {
				kinds = append(kinds, c.Name)
				if !mongoReads[c.Name] {
					t.Errorf("%s: FerretDB's log shows %q from the scan, not a read", s.Name, c.Name)
				}
			}
		default:
			reqs, err := s.HTTPLog(l.marks[s.Name])
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				if r.Bed {
					continue
				}
				path, _, _ := strings.Cut(r.Path, "?")
				kinds = append(kinds, r.Method+" "+shape(path))
				if r.Method != "GET" && r.Method != "HEAD" {
					t.Errorf("%s: its log shows %s from the scan", s.Name, r)
				}
			}
		}
		if len(kinds) < 3 {
			t.Errorf("%s: its log shows %d requests from the scan: the check proves nothing", s.Name, len(kinds))
		}
		t.Logf("%-20s own log, %3d requests from probe and sampling: %s", s.Name, len(kinds), summary(kinds))
	}
}

// limitOf names a sampling SELECT by its LIMIT, so the log tells the
// probe's catalog reads from sampling's row reads.
func limitOf(sql string) string {
	if i := strings.LastIndex(strings.ToUpper(sql), " LIMIT "); i >= 0 {
		return " ... LIMIT " + strings.TrimSpace(sql[i+7:])
	}
	return ""
}

// shape hides the names in an HTTP path (an index, a database, a key),
// keeping its form: /{name}/_search.
func shape(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p != "" && !strings.HasPrefix(p, "_") && !strings.HasPrefix(p, ".json") {
			parts[i] = "{name}"
			if strings.HasSuffix(p, ".json") {
				parts[i] += ".json"
			}
		}
	}
	return strings.Join(parts, "/")
}

// summary counts each kind of request: "SCAN×3 TYPE×12".
func summary(kinds []string) string {
	n := map[string]int{}
	for _, k := range kinds {
		n[k]++
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(n)) {
		fmt.Fprintf(&b, "%s×%d; ", k, n[k])
	}
	return strings.TrimSuffix(b.String(), "; ")
}
