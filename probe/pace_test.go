package probe

import (
	"context"
	"net/netip"
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

// TestSlowConnectGivesItsSlotBack runs one worker over a target whose connect
// hangs and one that is refused: the refused one must be done while the
// first still hangs, which only happens if the hanging connect stopped
// counting against Workers. (Not a timing test: the hang ends only when the
// second result is in, or after 10 s, which fails.)
func TestSlowConnectGivesItsSlotBack(t *testing.T) {
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
