package gcs

import (
	"context"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
)

// TestRealFakeGCS runs fake-gcs-server (built from the Go module proxy) with
// the planted bucket, named as Firebase apps name their Storage bucket at
// its Cloud Storage virtual host, and checks gown's verdict, inventory and
// samples, and from the server's own access log that gown sent GETs only.
func TestRealFakeGCS(t *testing.T) {
	s := testbed.Require(t, "gcs-open").Get("gcs-open")
	d, err := probe.NewDialer(probe.DialerConfig{Source: testbed.Source})
	if err != nil {
		t.Fatal(err)
	}
	a := s.Addr.Addr()
	tg := gown.Target{Host: s.Host, Addr: a, Port: int(s.Addr.Port()), Hint: "gcs", Origin: "test"}
	mark := s.LogSize()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	r, err := New().Probe(ctx, tg, d)
	if r == nil {
		t.Fatalf("no result: %v", err)
	}
	if r.Status != s.Want.Status || r.Details["bucket"] != testbed.GCSBucket || r.Error != "" {
		t.Fatalf("status %s (%s), details %v, error %q", r.Status, r.Reason, r.Details, r.Error)
	}
	if inv := r.Inventory; inv == nil || inv.Items != s.Want.Items || inv.Bytes == 0 || inv.Truncated {
		t.Fatalf("inventory %+v, planted %d", inv, s.Want.Items)
	}
	for _, db := range r.Inventory.Databases {
		if db.Items != s.Want.Databases[db.Name] {
			t.Errorf("%s: %d objects per gown, %d planted", db.Name, db.Items, s.Want.Databases[db.Name])
		}
	}
	samples, _, err := probe.SampleStore(t.Context(), New(), tg, d, r, probe.DefaultSample)
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, x := range samples {
		per[x.Database]++
	}
	if per["users"] != 3 || per["exports"] != 5 || per[testbed.RansomName] != 1 {
		t.Errorf("samples per database %v", per)
	}
	time.Sleep(200 * time.Millisecond)
	reqs, err := s.HTTPLog(mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) == 0 {
		t.Fatal("the server's log shows nothing from gown: the check proves nothing")
	}
	for _, q := range reqs {
		if q.Method != "GET" || q.Client != testbed.Source.String() {
			t.Errorf("fake-gcs-server's log shows %s from %s", q, q.Client)
		}
	}
	t.Logf("gcs-open: %s — %d objects, %d sampled; %s: %d requests, all GET from %s", r.Status, r.Inventory.Items, len(samples),
		s.LogName(), len(reqs), testbed.Source)
}
