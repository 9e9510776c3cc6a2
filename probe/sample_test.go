package probe

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// greedySampler ignores ErrSampleFull and keeps emitting, as a buggy or
// hostile-data sampler might: SampleStore must still hold the caps.
type greedySampler struct {
	stubProber
	colls, perColl, valueLen int
	calls                    int
}

func (g *greedySampler) Sample(ctx context.Context, t gown.Target, d Dialer, r *gown.Result, lim SampleLimits, emit func(gown.Sample) error) error {
	for c := range g.colls {
		for i := range g.perColl {
			g.calls++
			_ = emit(gown.Sample{Database: "db", Collection: fmt.Sprintf("c%d", c), Key: fmt.Sprint(i),
				Fields: []gown.Field{{Path: "v", Value: string(make([]byte, g.valueLen))}}})
		}
	}
	return nil
}

type stubProber struct{}

func (stubProber) Kind() gown.StoreKind { return gown.StoreKind{Name: "stub", Ports: []int{1}} }
func (stubProber) Probe(context.Context, gown.Target, Dialer) (*gown.Result, error) {
	return nil, errors.New("unused")
}

func TestSampleStoreCaps(t *testing.T) {
	open := &gown.Result{Status: gown.StatusOpen}
	cases := []struct {
		name              string
		s                 *greedySampler
		lim               SampleLimits
		want              int
		truncated         bool
		perCollectionWant int
	}{
		{"per-collection K", &greedySampler{colls: 3, perColl: 20, valueLen: 10}, SampleLimits{PerCollection: 5}, 15, false, 5},
		{"collections cap", &greedySampler{colls: 10, perColl: 2, valueLen: 10}, SampleLimits{PerCollection: 5, Collections: 4}, 8, true, 2},
		{"byte cap", &greedySampler{colls: 1, perColl: 100, valueLen: 1000}, SampleLimits{PerCollection: 100, Bytes: 10_000}, 9, true, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, trunc, err := SampleStore(context.Background(), c.s, gown.Target{}, nil, open, c.lim)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.want || trunc != c.truncated {
				t.Fatalf("got %d samples, truncated %v; want %d, %v", len(got), trunc, c.want, c.truncated)
			}
			per := map[string]int{}
			for _, s := range got {
				per[s.Collection]++
			}
			for coll, n := range per {
				if n != c.perCollectionWant {
					t.Errorf("collection %s: %d samples, want %d", coll, n, c.perCollectionWant)
				}
			}
		})
	}
}

func TestSampleStoreOnlyOpen(t *testing.T) {
	s := &greedySampler{colls: 1, perColl: 1}
	for _, st := range []gown.Status{gown.StatusAuthRequired, gown.StatusRestricted, gown.StatusProtected} {
		got, _, _ := SampleStore(context.Background(), s, gown.Target{}, nil, &gown.Result{Status: st}, DefaultSample)
		if len(got) != 0 || s.calls != 0 {
			t.Fatalf("%s: sampler ran (%d calls, %d samples)", st, s.calls, len(got))
		}
	}
	if got, _, _ := SampleStore(context.Background(), s, gown.Target{}, nil, &gown.Result{Status: gown.StatusOpen}, SampleLimits{}); len(got) != 0 {
		t.Fatalf("sampling off but %d samples", len(got))
	}
	if _, _, err := SampleStore(context.Background(), stubProber{}, gown.Target{}, nil, &gown.Result{Status: gown.StatusOpen}, DefaultSample); err != nil {
		t.Fatalf("a prober without a sampler: %v", err)
	}
}

func TestSampleStoreDeadline(t *testing.T) {
	slow := sleepySampler{}
	start := time.Now()
	_, trunc, _ := SampleStore(context.Background(), slow, gown.Target{}, nil, &gown.Result{Status: gown.StatusOpen},
		SampleLimits{PerCollection: 5, Timeout: 50 * time.Millisecond})
	if !trunc {
		t.Fatal("deadline passed but sampling not marked truncated")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("sampling outlived its deadline: %s", el)
	}
}

type sleepySampler struct{ stubProber }

func (sleepySampler) Sample(ctx context.Context, _ gown.Target, _ Dialer, _ *gown.Result, _ SampleLimits, _ func(gown.Sample) error) error {
	<-ctx.Done()
	return ctx.Err()
}
