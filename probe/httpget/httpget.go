// Package httpget is the small HTTP/1.1 client the HTTP-JSON probers share
// (Elasticsearch and Kibana through Get; Couchbase and Firebase through Fetch,
// which names the target by its host name in the Host header and refuses a
// name unfit for it): one GET per connection over a probe.Conn, the
// Reply read with net/http.ReadResponse and its body capped. Written over
// probe.Conn rather than net/http.Client so that every byte passes the
// dialer's caps, deadlines and evidence recorder.
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

// ErrSilent marks a connection closed before any reply byte, which is what
// a TLS-only port does with a plaintext request; ErrTLSAnswer marks a reply
// that is a TLS record or an HTTP server's "you spoke plaintext to HTTPS".
var (
	ErrSilent    = errors.New("closed without a reply")
	ErrTLSAnswer = errors.New("the port wants TLS")
)

// Reply is one HTTP response, its body read and capped.
type Reply struct {
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool // the body was longer than MaxBody (or the read cap)
}

// Exchange is one request on one connection: the reply, or why there is
// none, plus the transcript and TLS facts of that connection.
type Exchange struct {
	Reply    *Reply
	TLS      *gown.TLS
	Evidence []gown.Evidence
}

// Request is the only shape of request this package sends: a GET without a
// body, asking the server to close the connection after the reply.
func Request(host, path string) string {
	return "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		"User-Agent: gown\r\n" +
		"Accept: application/json\r\n" +
		"Connection: close\r\n\r\n"
}

// HostHeader is host:port as HTTP wants it (IPv6 literals in brackets).
func HostHeader(t gown.Target) string {
	return net.JoinHostPort(strings.Trim(t.Host, "[]"), strconv.Itoa(t.Port))
}

// Get sends one GET over a new connection (TLS first when useTLS) and reads
// the reply. Connection: close keeps the framing simple: one exchange, then
// the server hangs up.
func Get(ctx context.Context, d probe.Dialer, t gown.Target, useTLS bool, path string) (*Exchange, error) {
	c, err := d.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ex := &Exchange{}
	defer func() { ex.Evidence = c.Evidence() }()
	if useTLS {
		if err := c.UpgradeTLS(probe.ServerName(t)); err != nil {
			return ex, err
		}
		ex.TLS = c.TLS()
	}
	c.Step("GET " + path)
	if _, err := io.WriteString(c, Request(HostHeader(t), path)); err != nil {
		return ex, err
	}
	ex.Reply, err = ReadReply(c)
	if err != nil && c.BytesRead() == 0 && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || IsReset(err) {
			err = fmt.Errorf("%w: %w", ErrSilent, err)
		}
	}
	return ex, err
}

// ReadReply reads one HTTP response from r. A reply that is not HTTP at all
// is gown.ErrNotService, except a TLS record, which says the port wants TLS.
// The header block is bounded by the connection's read cap; the body by
// MaxBody.
func ReadReply(r io.Reader) (*Reply, error) {
	br := bufio.NewReaderSize(r, 4096)
	if first, err := br.Peek(1); err == nil && (first[0] == 0x15 || first[0] == 0x16) {
		// 0x15 is a TLS alert, 0x16 a handshake record: a TLS server
		// answering a plaintext request.
		return nil, ErrTLSAnswer
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gown.ErrReplyTooLarge) || IsNetErr(err) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", gown.ErrNotService, err)
	}
	defer resp.Body.Close()
	rp := &Reply{Status: resp.StatusCode, Header: resp.Header}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	switch {
	case err != nil && errors.Is(err, gown.ErrReplyTooLarge):
		rp.Truncated = true
	case err != nil && len(body) == 0:
		return rp, err
	case err != nil:
		// A body cut short (server closed mid-chunk): keep what came, as a
		// partial reply; the JSON decode says whether it is usable.
		rp.Truncated = true
	}
	if len(body) > MaxBody {
		body, rp.Truncated = body[:MaxBody], true
	}
	rp.Body = body
	if rp.Status == http.StatusBadRequest && PlainToHTTPS(body) {
		return rp, ErrTLSAnswer
	}
	return rp, nil
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
