// Package httpget is the one HTTP/1.1 client of gown's HTTP probers
// (Elasticsearch, Kibana, CouchDB, Couchbase, Firebase): one GET per
// connection, written by hand over a probe.Conn and read back with
// net/http.ReadResponse, the body capped. It works over probe.Conn rather
// than net/http.Client so that every byte passes the dialer's caps,
// deadlines and evidence recorder.
//
// The request is the only shape gown sends over HTTP:
//
//	GET PATH HTTP/1.1\r\nHost: H\r\nUser-Agent: gown\r\nAccept: application/json\r\nConnection: close\r\n\r\n
//
// (GetRange adds "Range: bytes=0-N" for a bounded read of one object),
// except for read APIs that take their query in a JSON body (etcd's gRPC
// gateway: POST /v3/kv/range), which PostQuery sends as the same request
// with POST, Content-Type: application/json and a Content-Length. It is for
// such reads only: no prober posts to a path that writes.
//
// Connection: close keeps the framing simple: one exchange, then the server
// hangs up, so a server that mis-frames one reply cannot shift the next
// one's meaning.
package httpget

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// MaxBody caps a reply body. It stays below the dialer's default 1 MiB
// connection cap so that headers plus body fit, and a longer body is cut
// here (Truncated) rather than failing the whole exchange.
const MaxBody = 768 << 10

// max1xx bounds the interim (1xx) replies skipped before the real one, so a
// server that sends "100 Continue" forever cannot hold the probe.
const max1xx = 4

var (
	// ErrSilent marks a connection closed before any reply byte, which is
	// what a TLS-only port does with a plaintext request.
	ErrSilent = errors.New("closed without a reply")
	// ErrTLSAnswer marks a plaintext request answered the way a TLS
	// listener answers one: with a TLS record, or with the 400 page of Go's
	// net/http ("Client sent an HTTP request to an HTTPS server") or of
	// nginx ("The plain HTTP request was sent to HTTPS port"). With the
	// 400 page, Get returns the reply as well.
	ErrTLSAnswer = errors.New("the port wants TLS")
	// ErrNotHTTP marks a reply that does not start like an HTTP response.
	ErrNotHTTP = fmt.Errorf("%w: the reply is not HTTP", gown.ErrNotService)
	// ErrHandshake marks a failed TLS handshake, after which plaintext may
	// be worth a try.
	ErrHandshake = errors.New("TLS handshake failed")
)

// Reply is one HTTP response, its body read and capped.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
	// Truncated says the body is not whole: it was longer than MaxBody, ran
	// past the connection's read cap, or broke off early.
	Truncated bool
	// BodyErr says why a truncated body is short: it wraps
	// gown.ErrReplyTooLarge when a cap cut it, and is the read error when
	// the server broke off. Callers that need the whole body (CouchDB's
	// listings) fail on it; others decode what came.
	BodyErr error
}

// Exchange is one request on one connection: the reply, or why there is
// none, plus the transcript and TLS facts of that connection.
type Exchange struct {
	Reply    *Reply
	TLS      *gown.TLS
	Evidence []gown.Evidence
}

// Request is the whole GET request for path, as it goes on the wire.
func Request(host, path string) string {
	return "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		"User-Agent: gown\r\n" +
		"Accept: application/json\r\n" +
		"Connection: close\r\n\r\n"
}

// Host names the target as the Host header must: the name the user or the
// app gave (virtual hosts, Firebase among them, route on it; the address
// dialled when there is no name), with the port unless it is the scheme's.
// A name that cannot go in a header (spaces, control characters: a header
// injection) is gown.ErrBadTarget.
func Host(t gown.Target, useTLS bool) (string, error) {
	h := strings.Trim(t.Host, "[]")
	if h == "" && t.Addr.IsValid() {
		h = t.Addr.String()
	}
	if h == "" || strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%w: host %q cannot go in a Host header", gown.ErrBadTarget, t.Host)
	}
	if (useTLS && t.Port == 443) || (!useTLS && t.Port == 80) {
		if strings.Contains(h, ":") {
			return "[" + h + "]", nil
		}
		return h, nil
	}
	return net.JoinHostPort(h, strconv.Itoa(t.Port)), nil
}

// handshakeError is a failed TLS upgrade: it reads as the handshake's own
// error and matches ErrHandshake.
type handshakeError struct{ err error }

func (e handshakeError) Error() string        { return e.err.Error() }
func (e handshakeError) Unwrap() error        { return e.err }
func (e handshakeError) Is(target error) bool { return target == ErrHandshake }

// PostQuery sends POST path with a JSON body over a new connection, for a
// read API that takes its query in the body; otherwise it is Get. The body
// is gown's own JSON, never bytes from a server.
func PostQuery(ctx context.Context, d probe.Dialer, t gown.Target, useTLS bool, path, body string) (*Exchange, error) {
	return exchange(ctx, d, t, useTLS, "POST "+path, func(host string) string {
		return "POST " + path + " HTTP/1.1\r\n" +
			"Host: " + host + "\r\n" +
			"User-Agent: gown\r\n" +
			"Accept: application/json\r\n" +
			"Content-Type: application/json\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
			"Connection: close\r\n\r\n" + body
	})
}

// Get sends GET path over a new connection (TLS first when useTLS) and
// reads the reply. The Exchange is never nil: its evidence and TLS facts
// are kept even when the exchange failed. A reply that is not HTTP is
// ErrNotHTTP; a TLS listener's answer ErrTLSAnswer; a connection closed
// before any reply byte ErrSilent; a failed handshake ErrHandshake.
func Get(ctx context.Context, d probe.Dialer, t gown.Target, useTLS bool, path string) (*Exchange, error) {
	return exchange(ctx, d, t, useTLS, "GET "+path, func(host string) string { return Request(host, path) })
}

// GetRange is Get with a Range header asking for the first n bytes of the
// body (bytes=0-(n-1)): a bounded read of an object, which a server may
// answer with 206 and the range or with 200 and the whole body (capped as
// any body is).
func GetRange(ctx context.Context, d probe.Dialer, t gown.Target, useTLS bool, path string, n int64) (*Exchange, error) {
	rng := "bytes=0-" + strconv.FormatInt(max(n, 1)-1, 10)
	return exchange(ctx, d, t, useTLS, "GET "+path+" ("+rng+")", func(host string) string {
		return "GET " + path + " HTTP/1.1\r\n" +
			"Host: " + host + "\r\n" +
			"User-Agent: gown\r\n" +
			"Accept: application/json\r\n" +
			"Range: " + rng + "\r\n" +
			"Connection: close\r\n\r\n"
	})
}

// exchange sends the request req builds for the Host header over a new
// connection and reads the reply; see Get.
func exchange(ctx context.Context, d probe.Dialer, t gown.Target, useTLS bool, step string, req func(host string) string) (*Exchange, error) {
	ex := &Exchange{}
	host, err := Host(t, useTLS)
	if err != nil {
		return ex, err
	}
	c, err := d.Dial(ctx, t)
	if err != nil {
		return ex, err
	}
	defer c.Close()
	// Runs before Close (deferred calls run last in, first out).
	defer func() { ex.Evidence = c.Evidence() }()
	if useTLS {
		if err := c.UpgradeTLS(probe.ServerName(t)); err != nil {
			return ex, handshakeError{err}
		}
		ex.TLS = c.TLS()
	}
	c.Step(step)
	_, werr := io.WriteString(c, req(host))
	// The reply is read even when the write failed: a server that refuses
	// the request at once may have answered before closing.
	ex.Reply, err = ReadReply(c)
	if err != nil && c.BytesRead() == 0 {
		if werr != nil {
			err = werr
		}
		if ctx.Err() == nil && !errors.Is(err, context.Canceled) &&
			(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || IsReset(err)) {
			err = fmt.Errorf("%w: %w", ErrSilent, err)
		}
	}
	return ex, err
}

// ReadReply reads one HTTP response from r. It tells a TLS record and a
// reply that is not HTTP (ErrNotHTTP) apart from a broken HTTP one
// (gown.ErrProtocol), keeps transport errors (deadline, reset, the read cap)
// as they are so that probe.Classify can name them, skips a few interim 1xx
// replies, and reads the body through io.LimitReader so that no more than
// MaxBody+1 bytes of it are ever held.
func ReadReply(r io.Reader) (*Reply, error) {
	br := bufio.NewReaderSize(r, 4096)
	head, err := br.Peek(5)
	if len(head) > 0 && (head[0] == 0x15 || head[0] == 0x16) && (len(head) < 2 || head[1] == 0x03) {
		// 0x15 is a TLS alert, 0x16 a handshake record, then major
		// version 3: a TLS server answering a plaintext request.
		return nil, ErrTLSAnswer
	}
	if len(head) > 0 && !bytes.HasPrefix([]byte("HTTP/"), head) { // head is at most 5 bytes
		return nil, fmt.Errorf("%w: starts %q", ErrNotHTTP, head)
	}
	if err != nil {
		return nil, err
	}
	for range max1xx + 1 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, protocolErr(err)
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			resp.Body.Close()
			continue
		}
		return readBody(resp)
	}
	return nil, fmt.Errorf("more than %d interim replies: %w", max1xx, gown.ErrProtocol)
}

// readBody reads a response's body within MaxBody. A body cut short keeps
// what came, as a partial reply: the caller's decoding says whether it is
// usable.
func readBody(resp *http.Response) (*Reply, error) {
	defer resp.Body.Close()
	rp := &Reply{Status: resp.StatusCode, Header: resp.Header}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	switch {
	case err != nil && len(body) == 0 && !errors.Is(err, gown.ErrReplyTooLarge):
		return rp, protocolErr(err)
	case err != nil:
		rp.Truncated, rp.BodyErr = true, err
	case len(body) > MaxBody:
		body, rp.Truncated = body[:MaxBody], true
		rp.BodyErr = fmt.Errorf("body over %d bytes: %w", MaxBody, gown.ErrReplyTooLarge)
	}
	rp.Body = body
	if rp.Status == http.StatusBadRequest && PlainToHTTPS(body) {
		return rp, ErrTLSAnswer
	}
	return rp, nil
}

// protocolErr keeps I/O errors (timeouts, resets, the read cap) as they
// are, and marks everything else net/http refused as a broken protocol.
func protocolErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gown.ErrReplyTooLarge) ||
		errors.Is(err, net.ErrClosed) || IsNetErr(err) {
		return err
	}
	return fmt.Errorf("%w: %w", gown.ErrProtocol, err)
}

// PlainToHTTPS recognises the 400 pages nginx and Go's net/http send when a
// plaintext request reaches a TLS listener.
func PlainToHTTPS(body []byte) bool {
	return bytes.Contains(body, []byte("plain HTTP request was sent to HTTPS port")) ||
		bytes.Contains(body, []byte("HTTP request to an HTTPS server"))
}

// IsNetErr reports transport failures (deadline, reset) that say nothing
// about what the peer speaks.
func IsNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || IsReset(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// IsReset reports a connection reset or broken pipe.
func IsReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
