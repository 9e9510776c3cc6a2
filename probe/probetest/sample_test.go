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

// redisSampleReads are the commands sampling may add to redisReads.
var redisSampleReads = map[string]bool{"SELECT": true, "SCAN": true, "TYPE": true, "STRLEN": true, "GET": true,
	"GETRANGE": true, "HLEN": true, "HGETALL": true, "HSCAN": true, "LRANGE": true, "ZRANGE": true, "SSCAN": true}

// TestSamplingFindsThePlantedCorpus runs the engine with sampling on over
// every test-bed server where the corpus was planted, and checks that the
// samples hold every planted person and the ransom note, that no collection
// gave more than K records, and (from the server's own log where the bed
// has one) that sampling only read. Sample values are compared in memory and
// never logged: they are the planted secrets.
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
	monitors := map[string]*testbed.Monitor{}
	for _, s := range planted {
		if s.Kind == "redis" {
			m, err := s.Monitor(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			monitors[s.Name] = m
		}
	}

	lim := probe.DefaultSample
	var mu sync.Mutex
	got := map[string][]gown.Sample{} // by server name
	truncated := map[string]bool{}
	byAddr := map[string]*testbed.Server{}
	eng, err := probe.New(probe.Config{Workers: 8, Timeout: 30 * time.Second, Sample: lim,
		Dialer: probe.DialerConfig{Source: testbed.Source},
		Analyze: func(r *gown.Result, samples []gown.Sample, trunc bool) {
			mu.Lock()
			defer mu.Unlock()
			if s := byAddr[r.Target.Dial()]; s != nil {
				got[s.Name] = samples
				truncated[s.Name] = trunc
			}
		}}, reg)
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan gown.Target, len(planted))
	for _, s := range planted {
		tg := TargetOf(s)
		tg.Hint = s.Kind
		byAddr[tg.Dial()] = s
		in <- tg
	}
	close(in)
	if err := eng.Run(t.Context(), in, func(*gown.Result) {}); err != nil {
		t.Fatal(err)
	}

	for _, s := range planted {
		samples := got[s.Name]
		perColl := map[[2]string]int{}
		var people, notes int
		for _, x := range samples {
			perColl[[2]string{x.Database, x.Collection}]++
			if x.Database == s.Want.PIIDatabase && slices.ContainsFunc(testbed.People, func(p testbed.Person) bool { return holds(x, p.Email) }) {
				people++
			}
			if holds(x, testbed.RansomBTC) {
				notes++
			}
		}
		for k, n := range perColl {
			if n > lim.PerCollection {
				t.Errorf("%s: %d records from %s/%s, over K=%d", s.Name, n, k[0], k[1], lim.PerCollection)
			}
		}
		if people != len(testbed.People) {
			t.Errorf("%s: %d of the %d planted people sampled from %s", s.Name, people, len(testbed.People), s.Want.PIIDatabase)
		}
		if slices.Contains(s.Want.Signs, "ransom-note") && notes == 0 {
			t.Errorf("%s: the planted ransom note was not sampled", s.Name)
		}
		t.Logf("%-16s %3d records from %2d collections (truncated %v); planted people found %d/%d, ransom note %v",
			s.Name, len(samples), len(perColl), truncated[s.Name], people, len(testbed.People), notes > 0)
	}

	for name, m := range monitors {
		var fromScan []string
		for _, e := range m.Entries() {
			if !strings.HasPrefix(e.Client, testbed.Source.String()+":") || len(e.Args) == 0 {
				continue
			}
			cmd := strings.ToUpper(e.Args[0])
			fromScan = append(fromScan, cmd)
			if !redisReads[cmd] && !redisSampleReads[cmd] {
				t.Errorf("%s MONITOR saw a command that is not a read: %q", name, cmd)
			}
		}
		slices.Sort(fromScan)
		t.Logf("%s MONITOR, commands from scan and sampling: %v", name, slices.Compact(fromScan))
		if len(fromScan) < 3 {
			t.Errorf("%s: MONITOR saw %d commands: the check proves nothing", name, len(fromScan))
		}
	}
}

// holds reports whether any field of x has value v.
func holds(x gown.Sample, v string) bool {
	for _, f := range x.Fields {
		if strings.Contains(f.Value, v) {
			return true
		}
	}
	return strings.Contains(x.Key, v)
}
