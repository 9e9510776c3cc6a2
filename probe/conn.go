package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// evidenceBytes is how much of each direction of an exchange is kept as
// evidence, before redaction.
const evidenceBytes = 320

// evidenceKept is how much of each direction a Conn records: redact.Bytes
// masks past the cut, so that a secret across it is masked whole, and
// needs one byte more to know the exchange went on.
const evidenceKept = evidenceBytes + redact.TailGuard + 1

// Conn is the connection a prober gets from a Dialer. It is the only way a
// prober touches the network, so the safety rules live here:
//   - every Read and Write carries a deadline (the per-I/O timeout, never past
//     the caller's ctx deadline), and the socket is closed the moment ctx ends;
//   - the bytes read over the connection's life are capped: past the cap Read
//     fails with gown.ErrReplyTooLarge, so a hostile endless stream costs at
//     most the cap;
//   - each exchange is recorded (first bytes each way) for evidence, and
//     redacted when taken out with Evidence.
//
// A Conn is used by one goroutine at a time.
type Conn struct {
	raw       net.Conn // the socket, kept for TLS upgrade and close
	c         net.Conn // what reads and writes go through (raw or TLS)
	ctx       context.Context
	ioTimeout time.Duration
	maxRead   int64
	read      int64
	stop      func() bool
	// firstByte, when above zero, bounds each read and write in place of
	// ioTimeout for as long as the target has not spoken (spoke unset): a
	// tarpit that accepts and never answers costs firstByte, not the I/O
	// timeout, and a server that has spoken on any connection of the target
	// gets the full I/O timeout from then on (engine.go, firstByteFor).
	firstByte time.Duration
	spoke     *atomic.Bool
	// target, when set, is the target-wide flag a detection race's
	// connection also sets (spoke is then the racing prober's own);
	// closed, the target-wide flag it sets when the server closes or
	// resets the connection: that too is the server reacting at once.
	target, hungUp *atomic.Bool

	mu    sync.Mutex
	steps []exchange
	sent  []byte
	recv  []byte
	step  string
	// withhold keeps the current step's reply out of the evidence: it is
	// a stored value read to decide the verdict (StepWithheld).
	withhold bool
	closed   bool

	tlsState *tls.ConnectionState
}

func newConn(ctx context.Context, c net.Conn, ioTimeout time.Duration, maxRead int64) *Conn {
	pc := &Conn{raw: c, c: c, ctx: ctx, ioTimeout: ioTimeout, maxRead: maxRead}
	// Closing the socket is the only way to interrupt a blocked read at once
	// when the scan is cancelled (Ctrl-C) or the target's deadline passes.
	pc.stop = context.AfterFunc(ctx, func() { c.Close() })
	return pc
}

// rebind ties the connection to ctx: its deadline bounds every read and
// write from then on, and its end closes the socket. A connection made
// ahead (under the scan's ctx) is so handed to the prober that takes it, a
// kept one to its sampler (Rebind). It reports false when the ctx it was
// tied to had already ended, which closed the socket.
func (c *Conn) rebind(ctx context.Context) bool {
	live := c.stop()
	c.ctx = ctx
	raw := c.raw
	c.stop = context.AfterFunc(ctx, func() { raw.Close() })
	return live
}

// Step names the exchange the next Write starts, e.g. "INFO" or "login root".
func (c *Conn) Step(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.step = name
}

// StepWithheld is Step for an exchange whose reply is the store's own data
// (a value read to learn whether reads are allowed): the evidence keeps the
// request and the reply's size, never its bytes. Sampling, which classifies
// values, keeps them out of the evidence by not going through here at all;
// this is for a prober's own reads.
func (c *Conn) StepWithheld(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.step, c.withhold = name, true
}

// exchange is one recorded step, its bytes as they went: they are masked
// only when Evidence takes them out. A sampler's connections, whose
// evidence nobody takes, then never pay for masking the records they read
// (a sixth of gown's CPU on the bench farm's open servers went to masking
// e-mail addresses no one would see).
type exchange struct {
	step       string
	sent, recv []byte
	withhold   bool
}

func (c *Conn) flushLocked() {
	if len(c.sent) == 0 && len(c.recv) == 0 {
		return
	}
	c.steps = append(c.steps, exchange{c.step, c.sent, c.recv, c.withhold})
	c.sent, c.recv, c.step, c.withhold = nil, nil, "", false
}

// evidence renders a recorded exchange, masked.
func (x exchange) evidence() gown.Evidence {
	recv := redact.Bytes(x.recv, evidenceBytes)
	if x.withhold {
		recv = fmt.Sprintf("[a stored value: %d bytes, not kept]", len(x.recv))
	}
	return gown.Evidence{Step: x.step, Sent: redact.Bytes(x.sent, evidenceBytes), Received: recv}
}

func (c *Conn) deadline() time.Time {
	wait := c.ioTimeout
	if c.spoke != nil && c.firstByte < wait && !c.spoke.Load() {
		wait = c.firstByte
	}
	d := time.Now().Add(wait)
	if cd, ok := c.ctx.Deadline(); ok && cd.Before(d) {
		d = cd
	}
	return d
}

// Read reads from the service, within the deadline and the byte cap.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	left := c.maxRead - c.read
	if left <= 0 {
		return 0, fmt.Errorf("after %d bytes: %w", c.read, gown.ErrReplyTooLarge)
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	c.c.SetReadDeadline(c.deadline())
	n, err := c.c.Read(p)
	c.read += int64(n)
	if c.hungUp != nil && err != nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		c.hungUp.Store(true)
	}
	if n > 0 && c.spoke != nil && !c.spoke.Load() {
		c.spoke.Store(true)
		if c.target != nil {
			c.target.Store(true)
		}
	}
	c.mu.Lock()
	if room := evidenceKept - len(c.recv); room > 0 && n > 0 {
		c.recv = append(c.recv, p[:min(n, room)]...)
	}
	c.mu.Unlock()
	return n, c.wrap(err)
}

// Write sends a request; a Write after a Read starts a new evidence exchange
// unless Step was called.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	c.mu.Lock()
	if len(c.recv) > 0 {
		step := c.step
		c.flushLocked()
		c.step = step
	}
	if room := evidenceKept - len(c.sent); room > 0 {
		c.sent = append(c.sent, p[:min(len(p), room)]...)
	}
	c.mu.Unlock()
	c.c.SetWriteDeadline(c.deadline())
	n, err := c.c.Write(p)
	return n, c.wrap(err)
}

// wrap turns the errors of a socket closed by ctx into ctx's own error, so
// that a cancelled scan says "cancelled" rather than "use of closed conn".
func (c *Conn) wrap(err error) error {
	if err == nil {
		return nil
	}
	if cerr := c.ctx.Err(); cerr != nil && errors.Is(err, net.ErrClosed) {
		return cerr
	}
	return err
}

// BytesRead is the number of bytes read so far.
func (c *Conn) BytesRead() int64 { return c.read }

// Evidence returns the recorded exchanges, redacted.
func (c *Conn) Evidence() []gown.Evidence {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	out := make([]gown.Evidence, len(c.steps))
	for i, x := range c.steps {
		out[i] = x.evidence()
	}
	return out
}

// Closed reports whether Close was called.
func (c *Conn) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close closes the connection. It is safe to call more than once.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.stop()
	return c.c.Close()
}

// UpgradeTLS runs a TLS client handshake over the connection (after a
// STARTTLS-style request, or at once for TLS-only ports). Certificates are not
// verified: gown reports what the server shows, it does not trust it.
func (c *Conn) UpgradeTLS(serverName string) error {
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: serverName, MinVersion: tls.VersionTLS10} //nolint:gosec // inspection, not trust
	tc := tls.Client(c.c, cfg)
	tc.SetDeadline(c.deadline())
	if err := tc.HandshakeContext(c.ctx); err != nil {
		return fmt.Errorf("tls handshake: %w", c.wrap(err))
	}
	// A handshake is the server speaking, but in a detection race only of
	// the target: a racer's own deadline grows with the first byte of a
	// reply to its request, as another store's server inside TLS (a
	// MongoDB waiting out a Redis command's missing bytes) says nothing.
	switch {
	case c.target != nil:
		c.target.Store(true)
	case c.spoke != nil:
		c.spoke.Store(true)
	}
	st := tc.ConnectionState()
	c.tlsState = &st
	c.c = tc
	c.Step("tls")
	return nil
}

// TLS describes the negotiated TLS session, or nil before UpgradeTLS.
func (c *Conn) TLS() *gown.TLS {
	if c.tlsState == nil {
		return nil
	}
	return DescribeTLS(c.tlsState)
}

// DescribeTLS turns a TLS connection state into the reported facts.
func DescribeTLS(st *tls.ConnectionState) *gown.TLS {
	out := &gown.TLS{Version: tls.VersionName(st.Version)}
	if len(st.PeerCertificates) > 0 {
		cert := st.PeerCertificates[0]
		out.Subject = cert.Subject.String()
		out.Issuer = cert.Issuer.String()
		out.NotAfter = cert.NotAfter
		out.SelfSigned = isSelfSigned(cert)
	}
	return out
}

func isSelfSigned(c *x509.Certificate) bool {
	if c.Subject.String() != c.Issuer.String() {
		return false
	}
	// Not CheckSignatureFrom: it refuses a parent without the CA flag, and a
	// self-signed server certificate usually lacks it.
	return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// ServerName is the SNI name for a target: its host name, or none for an IP.
func ServerName(t gown.Target) string {
	if net.ParseIP(strings.Trim(t.Host, "[]")) != nil {
		return ""
	}
	return t.Host
}
