package probe

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// stallDialer refuses every target at once but the stalled one, whose
// connect hangs until release is closed, as a filtered port's does.
type stallDialer struct {
	stalled netip.AddrPort
	release chan struct{}
}

func (d *stallDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	if netip.AddrPortFrom(t.Addr, uint16(t.Port)) == d.stalled {
		select {
		case <-d.release:
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		return nil, &DialError{Status: gown.StatusFiltered, Err: context.DeadlineExceeded}
	}
	return nil, &DialError{Status: gown.StatusClosed, Err: syscall.ECONNREFUSED}
}

// TestSlowConnectHoldsNoWorker runs one worker over a target whose connect
// hangs and one that is refused: the refused one must be done while the
// first still hangs, which only happens if the hanging connect does not
// count against Workers. (Not a timing test: the hang ends only when the
// second result is in, or after 10 s, which fails.)
func TestSlowConnectHoldsNoWorker(t *testing.T) {
	stalled := netip.MustParseAddrPort("127.77.0.1:6379")
	refused := netip.MustParseAddrPort("127.77.0.2:6379")
	d := &stallDialer{stalled: stalled, release: make(chan struct{})}
	eng, err := New(Config{Workers: 1, All: true, Timeout: time.Minute}, NewRegistry(&echoProber{name: "echo", ports: []int{6379}}))
	if err != nil {
		t.Fatal(err)
	}
	eng.WithDialer(d)
	var order []netip.AddrPort
	err = eng.Run(t.Context(), feed(tgt(stalled), tgt(refused)), func(r *gown.Result) {
		ap := netip.AddrPortFrom(r.Target.Addr, uint16(r.Target.Port))
		order = append(order, ap)
		if ap == refused {
			close(d.release)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != refused || order[1] != stalled {
		t.Fatalf("results in order %v, want the refused target first", order)
	}
}

// TestConnectionMadeAheadIsTheProbersFirst checks that connecting ahead
// costs the server no extra connection: a prober that dials once per target
// makes one connection per target, and the result is the prober's.
func TestConnectionMadeAheadIsTheProbersFirst(t *testing.T) {
	var accepted atomic.Int32
	serve := okServer(0)
	addrs := make([]netip.AddrPort, 3)
	for i := range addrs {
		addrs[i] = listen(t, func(c net.Conn) { accepted.Add(1); serve(c) })
	}
	var ports []int
	var targets []gown.Target
	for _, a := range addrs {
		ports = append(ports, int(a.Port()))
		targets = append(targets, tgt(a))
	}
	eng, err := New(Config{Workers: 2}, NewRegistry(&echoProber{name: "echo", ports: ports}))
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	if err := eng.Run(t.Context(), feed(targets...), func(r *gown.Result) {
		if r.Status == gown.StatusOpen {
			open++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if open != len(addrs) || int(accepted.Load()) != len(addrs) {
		t.Fatalf("%d open results over %d connections, want %d and %d", open, accepted.Load(), len(addrs), len(addrs))
	}
}

// idleProber claims a port and returns without dialing.
type idleProber struct{ port int }

func (p idleProber) Kind() gown.StoreKind { return gown.StoreKind{Name: "idle", Ports: []int{p.port}} }
func (p idleProber) Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error) {
	return &gown.Result{Target: t, Status: gown.StatusUnknown, Reason: "did not dial"}, nil
}

// TestConnectionMadeAheadIsClosedWhenUnused: a prober that never dials
// leaves no connection open behind it.
func TestConnectionMadeAheadIsClosedWhenUnused(t *testing.T) {
	closed := make(chan struct{})
	ap := listen(t, func(c net.Conn) {
		var b [1]byte
		if n, err := c.Read(b[:]); n == 0 && err != nil {
			close(closed) // the client hung up without sending anything
		}
	})
	eng, err := New(Config{Workers: 1}, NewRegistry(idleProber{port: int(ap.Port())}))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(t.Context(), feed(tgt(ap)), func(*gown.Result) {}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection made ahead was never closed")
	}
}

// TestConnectionMadeAheadFollowsTheProbersContext: once a prober takes the
// connection, its ctx's deadline bounds reads (the I/O timeout here is a
// minute, so only the rebinding can end the read), and a connection older
// than aheadMaxAge is replaced by a fresh one.
func TestConnectionMadeAheadFollowsTheProbersContext(t *testing.T) {
	var accepted atomic.Int32
	ap := listen(t, func(c net.Conn) {
		accepted.Add(1)
		io.Copy(io.Discard, c) // silent until the client hangs up
	})
	nd, err := NewDialer(DialerConfig{IOTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	target := tgt(ap)
	made, err := nd.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	d := &aheadDialer{inner: nd, t: target, conn: made, dialed: time.Now()}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	c, err := d.Dial(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	if c != made {
		t.Fatal("the first dial did not get the connection made ahead")
	}
	done := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := c.Read(b[:])
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read returned data from a silent server")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read outlived the prober's ctx")
	}
	c.Close()

	stale, err := nd.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	d = &aheadDialer{inner: nd, t: target, conn: stale, dialed: time.Now().Add(-2 * aheadMaxAge)}
	fresh, err := d.Dial(t.Context(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if fresh == stale {
		t.Fatal("a connection older than aheadMaxAge was handed out")
	}
	// The server counts a connection when its accept loop gets to it.
	for wait := time.Now().Add(5 * time.Second); accepted.Load() < 3 && time.Now().Before(wait); {
		time.Sleep(time.Millisecond)
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("server accepted %d connections, want 3 (ahead, stale, fresh)", n)
	}
}

// TestGrowStartsOnDemand checks that grow starts one goroutine with no work,
// one more than the pieces of work taken while they are few, and all n when
// the work outlasts them, and that each piece is done once.
func TestGrowStartsOnDemand(t *testing.T) {
	for _, tc := range []struct{ n, work, wantMax, wantMin int }{
		{n: 1280, work: 0, wantMin: 1, wantMax: 1},
		{n: 1280, work: 5, wantMin: 2, wantMax: 6},
		{n: 16, work: 10_000, wantMin: 16, wantMax: 16},
	} {
		in := make(chan int)
		var started, done atomic.Int64
		hold := make(chan struct{}) // keeps the first pieces taken until all are handed out
		wg := grow(tc.n, func(took func()) {
			started.Add(1)
			for range in {
				took()
				if done.Add(1) <= int64(tc.n) {
					<-hold
				}
			}
		})
		go func() {
			for i := range tc.work {
				in <- i
				if i == tc.n-1 {
					close(hold)
				}
			}
			close(in)
		}()
		if tc.work < tc.n {
			// Pieces taken hold their goroutine only until the list ends.
			go func() {
				for done.Load() < int64(tc.work) {
					time.Sleep(time.Millisecond)
				}
				close(hold)
			}()
		}
		wg.Wait()
		if n := started.Load(); n < int64(tc.wantMin) || n > int64(tc.wantMax) {
			t.Errorf("grow(%d) over %d pieces started %d goroutines, want %d to %d", tc.n, tc.work, n, tc.wantMin, tc.wantMax)
		}
		if done.Load() != int64(tc.work) {
			t.Errorf("grow(%d): %d pieces done, want %d", tc.n, done.Load(), tc.work)
		}
	}
}
