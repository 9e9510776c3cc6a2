package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/gownscan/gown"
)

// tarpitKinds are the hints the demo's tarpits carry, in turn: a
// client-first store, a server-first one, an HTTP one, and none (the port
// is no prober's, so detection meets it).
var tarpitKinds = []string{"redis", "mysql", "elasticsearch", ""}

// tarpits are listeners that accept every connection and never send a byte:
// the slow target issue #16 asks a scan to survive. What a client sends is
// read and dropped, so its writes never block.
type tarpits struct {
	lns     []net.Listener
	targets []gown.Target
	specs   []string
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startTarpits(ctx context.Context, n int) (*tarpits, error) {
	p := &tarpits{}
	var lc net.ListenConfig
	for i := range n {
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			p.stop()
			return nil, err
		}
		p.lns = append(p.lns, ln)
		ap := ln.Addr().(*net.TCPAddr).AddrPort()
		kind := tarpitKinds[i%len(tarpitKinds)]
		p.targets = append(p.targets, gown.Target{Host: ap.Addr().String(), Addr: ap.Addr(), Port: int(ap.Port()), Hint: kind, Origin: "demo"})
		spec := ap.String()
		if kind != "" {
			spec = kind + "://" + spec
		}
		p.specs = append(p.specs, spec)
		p.wg.Go(func() { p.serve(ln) })
	}
	return p, nil
}

func (p *tarpits) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		p.wg.Go(func() { io.Copy(io.Discard, c) })
	}
}

// stop closes the listeners and every connection held.
func (p *tarpits) stop() {
	for _, ln := range p.lns {
		ln.Close()
	}
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// print writes a line for each tarpit's result: what gown said and how
// long the target held a worker.
func (p *tarpits) print(w io.Writer, results []*gown.Result) {
	for i, t := range p.targets {
		for _, r := range results {
			if r.Target.Addr == t.Addr && r.Target.Port == t.Port {
				fmt.Fprintf(w, "tarpit %-36s %-14s %6.2f s  %s\n", p.specs[i], r.Status, r.Duration.Seconds(), r.Reason)
			}
		}
	}
}
