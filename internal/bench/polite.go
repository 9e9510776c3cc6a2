package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Relays listen on a few hosts of PoliteNet, many ports each, and pass every
// connection through to a farm endpoint, recording when each connection came
// and how many were open at once per host. They show from the servers' side
// whether a scan keeps its per-host concurrency and global rate limits, for
// every protocol.
type Relays struct {
	mu      sync.Mutex
	hosts   map[netip.Addr]*hostRecord
	lns     []net.Listener
	Targets []string // one URL per relay port: scheme hint and address
	wg      sync.WaitGroup
}

type hostRecord struct {
	accepts []time.Time
	ends    []time.Time // when the scanner's side of each ended (zero: still open)
	conns   []*net.TCPConn
}

// closeSlack is how late the relay may see a connection end. The goroutine
// copying from the scanner learns of its FIN only when it is scheduled,
// which on a busy machine can be after the scanner's next connection was
// accepted; so each accept first asks the kernel (TCP_INFO) whether the
// host's other connections are still established, and ends those the
// scanner has closed. The slack covers the FIN and the next SYN being
// handled on two CPUs in either order, a few microseconds.
const closeSlack = time.Millisecond

// StartRelays opens hosts × portsPerHost relays; relay i goes to the i-th
// endpoint of farm (round robin), and its target URL names the store.
func StartRelays(ctx context.Context, farm []Endpoint, hosts, portsPerHost int) (*Relays, error) {
	r := &Relays{hosts: map[netip.Addr]*hostRecord{}}
	// Interleave kinds so that every host serves every protocol.
	byKind := map[string][]Endpoint{}
	for _, e := range farm {
		byKind[e.Kind] = append(byKind[e.Kind], e)
	}
	i := 0
	for h := range hosts {
		addr := netip.AddrFrom4([4]byte{127, 30, 0, byte(h + 1)})
		r.hosts[addr] = &hostRecord{}
		for p := range portsPerHost {
			kind := Kinds[i%len(Kinds)]
			list := byKind[kind]
			backend := list[(i/len(Kinds))%len(list)]
			i++
			port := uint16(20000 + p)
			ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, port).String())
			if err != nil {
				r.Stop()
				return nil, err
			}
			r.lns = append(r.lns, ln)
			scheme := map[string]string{"redis": "redis", "mysql": "mysql", "postgres": "postgres", "memcached": "memcached"}[kind]
			r.Targets = append(r.Targets, fmt.Sprintf("%s://%s:%d", scheme, addr, port))
			r.wg.Go(func() { r.serve(ctx, ln, addr, backend.Addr) })
		}
	}
	return r, nil
}

func (r *Relays) serve(ctx context.Context, ln net.Listener, host netip.Addr, backend netip.AddrPort) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		rec := r.hosts[host]
		now := time.Now()
		for i, o := range rec.conns {
			if o != nil && rec.ends[i].IsZero() && !established(o) {
				rec.ends[i] = now.Add(-time.Nanosecond)
			}
		}
		idx := len(rec.accepts)
		rec.accepts = append(rec.accepts, now)
		rec.ends = append(rec.ends, time.Time{})
		tc, _ := c.(*net.TCPConn)
		rec.conns = append(rec.conns, tc)
		r.mu.Unlock()
		go func() {
			// The connection counts as open until the scanner's side ends
			// (EOF or reset), not until the server's side does.
			var once sync.Once
			closed := func() {
				once.Do(func() {
					r.mu.Lock()
					if rec.ends[idx].IsZero() {
						rec.ends[idx] = time.Now()
					}
					rec.conns[idx] = nil
					r.mu.Unlock()
				})
			}
			defer closed()
			defer c.Close()
			var d net.Dialer
			b, err := d.DialContext(ctx, "tcp", backend.String())
			if err != nil {
				return
			}
			defer b.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(b, c); closed(); b.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			go func() { io.Copy(c, b); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

// established reports whether the kernel still has c's connection
// established, that is, the scanner has not closed its side (it is then in
// CLOSE_WAIT, or further along).
func established(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	state := uint8(0)
	rc.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	})
	return state == tcpEstablished
}

const tcpEstablished = 1 // TCP_ESTABLISHED in linux/tcp_states.h

// Reset forgets what was recorded.
func (r *Relays) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range r.hosts {
		*h = hostRecord{}
	}
}

// PoliteStats is what the relays saw during one scan.
type PoliteStats struct {
	Conns int
	// MaxOpenPerHost is the most connections open at once on any one host.
	MaxOpenPerHost int
	// PeakPerSec is the most connections opened in any one-second window,
	// over all hosts; PeakPerHostPerSec the same for the busiest host.
	PeakPerSec, PeakPerHostPerSec int
	// MeanPerHostPerSec is connections per second per host over the scan.
	MeanPerHostPerSec float64
}

// Stats summarises the record.
func (r *Relays) Stats() PoliteStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s PoliteStats
	var all []time.Time
	var first, last time.Time
	for _, h := range r.hosts {
		s.Conns += len(h.accepts)
		s.MaxOpenPerHost = max(s.MaxOpenPerHost, maxOpen(h.accepts, h.ends))
		s.PeakPerHostPerSec = max(s.PeakPerHostPerSec, peakWindow(h.accepts, time.Second))
		all = append(all, h.accepts...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Before(all[j]) })
	s.PeakPerSec = peakWindow(all, time.Second)
	if len(all) > 1 {
		first, last = all[0], all[len(all)-1]
		if span := last.Sub(first).Seconds(); span > 0 {
			s.MeanPerHostPerSec = float64(s.Conns) / span / float64(len(r.hosts))
		}
	}
	return s
}

// maxOpen is the most connections open at once, from their starts and ends
// (an end is moved closeSlack earlier, never before its start; connections
// still open end never).
func maxOpen(starts, ends []time.Time) int {
	type ev struct {
		t     time.Time
		delta int
	}
	evs := make([]ev, 0, len(starts)+len(ends))
	for i, t := range starts {
		evs = append(evs, ev{t, +1})
		if !ends[i].IsZero() {
			evs = append(evs, ev{later(t, ends[i].Add(-closeSlack)), -1})
		}
	}
	sort.Slice(evs, func(i, j int) bool {
		if !evs[i].t.Equal(evs[j].t) {
			return evs[i].t.Before(evs[j].t)
		}
		return evs[i].delta > evs[j].delta // a start before an end at the same time
	})
	open, best := 0, 0
	for _, e := range evs {
		open += e.delta
		best = max(best, open)
	}
	return best
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// peakWindow is the most times in any window of length w (times sorted).
func peakWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// Stop closes the listeners.
func (r *Relays) Stop() {
	for _, ln := range r.lns {
		ln.Close()
	}
	r.wg.Wait()
}
