package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelSameAsSequential reads the same apps on one core and on
// several: the apps must come out identical, endpoint order and sources
// included, since units merge in entry order.
func TestParallelSameAsSequential(t *testing.T) {
	apk, _ := plantedAPK(t, false)
	aab, _ := plantedAAB(t)
	apps := map[string][]byte{"shop.apk": apk, "shop.aab": aab}
	if !testing.Short() {
		for _, ra := range realApps[:2] {
			apps[ra.apk] = realAPK(t, ra)
		}
	}
	read := func(procs int) map[string]string {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		out := map[string]string{}
		for name, b := range apps {
			j, err := json.Marshal(readApp(t, b, name))
			if err != nil {
				t.Fatal(err)
			}
			out[name] = string(j)
		}
		return out
	}
	one, many := read(1), read(4)
	for name := range apps {
		if one[name] != many[name] {
			t.Errorf("%s read on 1 and on 4 cores differs:\n%s\n%s", name, one[name], many[name])
		}
	}
}

// TestArenaBounds has goroutines take and give back buffers of random
// sizes: the arena's buffers never exceed its limit, and every request is
// served.
func TestArenaBounds(t *testing.T) {
	const limit = 1 << 20
	ar := newArena(t.Context(), limit)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for range 200 {
				n := r.IntN(limit + 1)
				b, err := ar.get(n)
				if err != nil || len(b) != n {
					t.Errorf("get(%d) = %d bytes, %v", n, len(b), err)
					return
				}
				ar.mu.Lock()
				if ar.total > limit {
					t.Errorf("arena holds %d bytes, limit %d", ar.total, limit)
				}
				ar.mu.Unlock()
				ar.put(b)
			}
		})
	}
	wg.Wait()
	if _, err := ar.get(limit + 1); err == nil {
		t.Error("a request past the limit was served")
	}
}

// TestArenaCancel: a request waiting for memory returns when its context
// ends.
func TestArenaCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	ar := newArena(ctx, 1000)
	held, _ := ar.get(1000)
	got := make(chan error)
	go func() {
		_, err := ar.get(10)
		got <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-got:
		if err == nil {
			t.Error("served past the limit")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting request did not return on cancel")
	}
	ar.put(held)
}

// TestReadingHook: Config.Reading is called once for each app read, by
// the time its extraction is done, for an APK, an app bundle and an
// XAPK's nested APKs alike, and not for a file that is no archive.
func TestReadingHook(t *testing.T) {
	apk, _ := plantedAPK(t, false)
	aab, _ := plantedAAB(t)
	xapk := zipOf(t, entry{"manifest.json", []byte(`{"package_name":"com.shop.app"}`), true}, entry{"base.apk", apk, false}, entry{"config.en.apk", apk, false})
	var calls atomic.Int32
	x, err := New(Config{Catalog: catalog, Reading: func() { calls.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		name string
		b    []byte
		want int32
	}{{"shop.apk", apk, 1}, {"shop.aab", aab, 2}, {"shop.xapk", xapk, 3}, {"notes.apk", []byte("not a zip archive at all"), 3}} {
		x.Read(t.Context(), bytes.NewReader(c.b), int64(len(c.b)), c.name)
		if got := calls.Load(); got != c.want {
			t.Errorf("after %s (app %d): Reading called %d times in all, want %d", c.name, i+1, got, c.want)
		}
	}
}
