package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/gownscan/gown"
	"golang.org/x/time/rate"
)

// Dialer opens connections to targets. Probers get one from the engine and use
// nothing else to reach the network.
type Dialer interface {
	Dial(ctx context.Context, t gown.Target) (*Conn, error)
}

// DialerConfig sets the limits every connection carries.
type DialerConfig struct {
	// ConnectTimeout bounds the TCP handshake; a closed port answers at once,
	// so this only matters for filtered ones.
	ConnectTimeout time.Duration
	// IOTimeout bounds each read and write.
	IOTimeout time.Duration
	// MaxRead caps the bytes read over one connection's life.
	MaxRead int64
	// Source, when set, is the local address connections come from.
	Source netip.Addr
	// Rate, when above zero, caps new connections per second across the
	// scan, up to MaxRate; zero means no limit.
	Rate float64
}

// Validate checks the config and fills in defaults: a zero ConnectTimeout,
// IOTimeout or MaxRead takes the default (3 s, 5 s, 1 MiB). A negative
// value, and a Rate that is not a finite number in 0 to MaxRate, is a
// *ConfigError naming the field.
func (c *DialerConfig) Validate() error {
	err := firstErr(
		checkDuration("Dialer.ConnectTimeout", c.ConnectTimeout),
		checkDuration("Dialer.IOTimeout", c.IOTimeout),
		checkCount("Dialer.MaxRead", c.MaxRead, 0),
		checkRate("Dialer.Rate", c.Rate),
	)
	if err != nil {
		return err
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 3 * time.Second
	}
	if c.IOTimeout == 0 {
		c.IOTimeout = 5 * time.Second
	}
	if c.MaxRead == 0 {
		c.MaxRead = 1 << 20
	}
	return nil
}

// NetDialer is the Dialer over real TCP.
type NetDialer struct {
	cfg     DialerConfig
	d       net.Dialer
	limiter *rate.Limiter
}

// NewDialer builds a TCP dialer with the given limits.
func NewDialer(cfg DialerConfig) (*NetDialer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nd := &NetDialer{cfg: cfg, d: net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: -1}}
	if cfg.Source.IsValid() {
		nd.d.LocalAddr = &net.TCPAddr{IP: cfg.Source.AsSlice()}
	}
	if cfg.Rate > 0 {
		burst := max(1, int(cfg.Rate/10))
		nd.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), burst)
	}
	return nd, nil
}

// DialError is a failure to connect, with the verdict it implies.
type DialError struct {
	Status gown.Status // closed, filtered or error
	Err    error
}

// Error says what the connect met. Closed ports are most of a scan and every
// prober wraps this error, so the common cases are constant strings rather
// than the net package's message, which formats both addresses each time
// (the target is named by the prober's wrapping anyway).
func (e *DialError) Error() string {
	switch {
	case e.Status == gown.StatusClosed && errors.Is(e.Err, syscall.ECONNREFUSED):
		return "connect: connection refused"
	case e.Status == gown.StatusFiltered && errors.Is(e.Err, os.ErrDeadlineExceeded):
		return "connect: i/o timeout"
	}
	return fmt.Sprintf("connect: %v", e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// fixedText reports whether Error and Classify's reason are gown's own
// constant words (a refused or timed-out connect), which hold nothing a
// server chose: the text pass has nothing to do on such a result.
func (e *DialError) fixedText() bool {
	switch {
	case e.Status == gown.StatusClosed && errors.Is(e.Err, syscall.ECONNREFUSED):
		return true
	case e.Status == gown.StatusFiltered && errors.Is(e.Err, os.ErrDeadlineExceeded):
		return true
	}
	return false
}

// Dial connects to t within the connect timeout and the scan's rate limit.
func (nd *NetDialer) Dial(ctx context.Context, t gown.Target) (*Conn, error) {
	if nd.limiter != nil {
		if err := nd.limiter.Wait(ctx); err != nil {
			return nil, &DialError{Status: gown.StatusError, Err: err}
		}
	}
	var c net.Conn
	var err error
	switch {
	case t.Addr.IsValid() && t.Port > 0 && t.Port <= 0xffff && nd.cfg.Source.IsValid():
		// An address and a source: no name to resolve, no string to parse.
		var tc *net.TCPConn
		tc, err = nd.d.DialTCP(ctx, "tcp", netip.AddrPortFrom(nd.cfg.Source, 0), netip.AddrPortFrom(t.Addr, uint16(t.Port)))
		if tc != nil {
			c = tc
		}
	case t.Addr.IsValid() && t.Port > 0 && t.Port <= 0xffff:
		// DialTCP with no source would bind to 0.0.0.0:0 first (one more
		// system call, and an ephemeral port held apart from connect's
		// reuse); the address string is one allocation.
		c, err = nd.d.DialContext(ctx, "tcp", netip.AddrPortFrom(t.Addr, uint16(t.Port)).String())
	default:
		c, err = nd.d.DialContext(ctx, "tcp", t.Dial())
	}
	if err != nil {
		return nil, &DialError{Status: dialStatus(ctx, err), Err: err}
	}
	return newConn(ctx, c, nd.cfg.IOTimeout, nd.cfg.MaxRead), nil
}

func dialStatus(ctx context.Context, err error) gown.Status {
	switch {
	case ctx.Err() != nil:
		return gown.StatusError
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return gown.StatusClosed
	case isTimeout(err), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return gown.StatusFiltered
	}
	return gown.StatusError
}

// isTimeout reports whether err is a network timeout. It is its own function
// so that the error target of errors.As is allocated only when a dial got
// this far, not for every refused port.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
