package traffic

import (
	"net/netip"
)

// flowKey names a connection whichever way a packet goes: the smaller
// address:port first.
type flowKey struct {
	a, b netip.AddrPort
	udp  bool
}

func keyOf(s segment) flowKey {
	a, b := s.src, s.dst
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return flowKey{a, b, s.udp}
}

// stream is one direction of a connection: its first bytes, in sequence
// order, up to the stream cap.
type stream struct {
	buf     []byte
	next    uint32 // next sequence number expected
	started bool
	gap     bool // a segment was missing: buf stops before it
	fin     bool
	bytes   int64 // payload bytes seen, kept or not
}

// flow is one TCP connection or UDP exchange.
type flow struct {
	key            flowKey
	client, server netip.AddrPort
	udp            bool
	dir            [2]stream // 0: client to server, 1: server to client
	first          Where
	rst, syn       bool
	// fx holds what was read from the connection while it ran (drain);
	// nil until its first buffer filled.
	fx         *facts
	prev, next *flow // least recently active first
}

// flowTable follows connections within the configured bounds and hands
// each to done when it ends, when the capture ends, or when it must be
// evicted to keep memory bounded.
type flowTable struct {
	cfg        Config
	m          map[flowKey]*flow
	head, tail *flow // head: least recently active
	buffered   int64
	done       func(f *flow, evicted bool)
	// drain, when set, is called when a direction's buffer is full: it
	// reads what it can of it and drops it, and reports whether room was
	// made (HTTP keep-alive connections go on being read that way).
	drain func(f *flow, d int) bool
}

func newFlowTable(cfg Config, done func(*flow, bool)) *flowTable {
	return &flowTable{cfg: cfg, m: map[flowKey]*flow{}, done: done}
}

// serverSide reports whether src is more likely the server than dst: a
// server's port is usually the lower (well known or registered, where the
// client's is ephemeral).
func serverSide(src, dst netip.AddrPort) bool {
	sp, dp := src.Port(), dst.Port()
	return sp < dp
}

func (t *flowTable) add(s segment, w Where) {
	k := keyOf(s)
	f := t.m[k]
	if f == nil {
		// A connection seen starting from its SYN has a known client;
		// otherwise the lower port is taken to be the server's.
		f = &flow{key: k, udp: s.udp, first: w}
		switch {
		case !s.udp && s.flags&(flagSYN|flagACK) == flagSYN:
			f.client, f.server = s.src, s.dst
		case !s.udp && s.flags&(flagSYN|flagACK) == flagSYN|flagACK:
			f.client, f.server = s.dst, s.src
		case serverSide(s.src, s.dst):
			f.client, f.server = s.dst, s.src
		default:
			f.client, f.server = s.src, s.dst
		}
		if len(t.m) >= t.cfg.MaxFlows {
			t.evict(t.head)
		}
		t.m[k] = f
		t.pushBack(f)
	} else {
		t.touch(f)
	}
	d := 0
	if s.src != f.client {
		d = 1
	}
	st := &f.dir[d]
	if s.udp {
		st.bytes += int64(len(s.payload))
		t.keep(f, d, s.payload)
		return
	}
	if s.flags&flagSYN != 0 {
		f.syn = true
	}
	if !st.started {
		st.started = true
		st.next = s.seq
		if s.flags&flagSYN != 0 {
			st.next++
		}
	}
	if p := s.payload; len(p) > 0 {
		st.bytes += int64(len(p))
		diff := int32(s.seq - st.next)
		switch {
		case st.gap:
		case diff == 0:
			t.keep(f, d, p)
			st.next += uint32(len(p))
		case diff < 0 && int(-diff) < len(p): // a retransmission overlapping new data
			p = p[-diff:]
			t.keep(f, d, p)
			st.next += uint32(len(p))
		case diff < 0: // a retransmission of what was kept
		default:
			st.gap = true // a lost segment: what follows cannot be parsed
		}
	}
	if s.flags&flagFIN != 0 {
		st.fin = true
	}
	if s.flags&flagRST != 0 {
		f.rst = true
	}
	if f.rst || (f.dir[0].fin && f.dir[1].fin) {
		t.remove(f)
		t.done(f, false)
	}
	for t.buffered > t.cfg.MaxBuffered && t.head != nil {
		t.evict(t.head)
	}
}

// keep appends p to direction d of f up to the stream cap; a full buffer
// is drained when drain can read it, and keeping goes on.
func (t *flowTable) keep(f *flow, d int, p []byte) {
	st := &f.dir[d]
	for len(p) > 0 {
		room := t.cfg.StreamBytes - len(st.buf)
		if room <= 0 {
			if t.drain == nil || !t.drain(f, d) {
				return
			}
			if room = t.cfg.StreamBytes - len(st.buf); room <= 0 {
				return
			}
		}
		n := min(len(p), room)
		if need := len(st.buf) + n; need > cap(st.buf) {
			// Grown by hand: a buffer never holds more than the cap.
			grown := make([]byte, len(st.buf), min(max(need, 2*cap(st.buf), 2048), t.cfg.StreamBytes))
			copy(grown, st.buf)
			t.buffered += int64(cap(grown) - cap(st.buf))
			st.buf = grown
		}
		st.buf = append(st.buf, p[:n]...)
		p = p[n:]
	}
}

func (t *flowTable) evict(f *flow) {
	t.remove(f)
	t.done(f, true)
}

func (t *flowTable) remove(f *flow) {
	delete(t.m, f.key)
	t.unlink(f)
	t.buffered -= int64(cap(f.dir[0].buf) + cap(f.dir[1].buf))
}

func (t *flowTable) pushBack(f *flow) {
	f.prev, f.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = f
	} else {
		t.head = f
	}
	t.tail = f
}

func (t *flowTable) unlink(f *flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else if t.head == f {
		t.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else if t.tail == f {
		t.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

func (t *flowTable) touch(f *flow) {
	if t.tail == f {
		return
	}
	t.unlink(f)
	t.pushBack(f)
}

// flushAll hands every open connection to done, oldest first.
func (t *flowTable) flushAll() {
	for t.head != nil {
		f := t.head
		t.remove(f)
		t.done(f, false)
	}
}
