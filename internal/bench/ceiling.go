package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Ceiling is the raw TCP connect ceiling: a dialer that only connects and
// closes, over the same host × port pairs a scanner is given. No scanner that
// connects can beat it, so each tool's targets/s is shown as a share of it.
type Ceiling struct {
	Workers int
	Timeout time.Duration // connect timeout, as the scanners get
}

// CeilingCounts is what the ceiling dialer saw.
type CeilingCounts struct {
	Open, Closed, Filtered, Other int64
}

// Run connects to every host of the list on every port and returns the counts.
func (c Ceiling) Run(ctx context.Context, hosts []netip.Addr, ports []int) CeilingCounts {
	var n CeilingCounts
	next := atomic.Int64{}
	total := int64(len(hosts) * len(ports))
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Go(func() {
			d := net.Dialer{Timeout: c.Timeout, KeepAlive: -1}
			for {
				i := next.Add(1) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				ap := netip.AddrPortFrom(hosts[i/int64(len(ports))], uint16(ports[i%int64(len(ports))]))
				conn, err := d.DialContext(ctx, "tcp", ap.String())
				var ne net.Error
				switch {
				case err == nil:
					conn.Close()
					atomic.AddInt64(&n.Open, 1)
				case errors.Is(err, syscall.ECONNREFUSED):
					atomic.AddInt64(&n.Closed, 1)
				case errors.As(err, &ne) && ne.Timeout():
					atomic.AddInt64(&n.Filtered, 1)
				default:
					atomic.AddInt64(&n.Other, 1)
				}
			}
		})
	}
	wg.Wait()
	return n
}

// Fprint writes the counts on one line.
func (n CeilingCounts) Fprint(w io.Writer) {
	fmt.Fprintf(w, "open %d closed %d filtered %d other %d\n", n.Open, n.Closed, n.Filtered, n.Other)
}
