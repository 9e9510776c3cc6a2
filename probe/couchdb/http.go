package couchdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/httpget"
)

// maxBody caps one reply body. The answers gown asks for are a few hundred
// bytes (a list of names at most); a hostile server must not make gown
// buffer more than this.
const maxBody = 1 << 20

// max1xx bounds the interim (1xx) replies skipped before the real one, so a
// server that sends "100 Continue" forever cannot hold the probe.
const max1xx = 4

var (
	// errTLSRecord marks a plaintext request answered with a TLS record (an
	// alert, usually): the port speaks only TLS.
	errTLSRecord = errors.New("TLS record in reply to plaintext HTTP")
	// errNotHTTP marks a reply that does not start with an HTTP status line.
	errNotHTTP = errors.New("reply is not HTTP")
)

// reply is one HTTP answer, its body read whole up to maxBody.
type reply struct {
	code    int
	server  string // the Server header: "CouchDB/3.3.3 (Erlang OTP/25)"
	wwwAuth string // the WWW-Authenticate header, on a 401
	body    []byte
}

// request is the whole GET request for path, as it goes on the wire. Each
// request has its own connection (Connection: close), so a server that
// mis-frames one reply cannot shift the next one's meaning.
func request(path, host string) string {
	return "GET " + path + " HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		"User-Agent: gown\r\n" +
		"Accept: application/json\r\n" +
		"Connection: close\r\n\r\n"
}

// hostHeader is the Host header for a target: its name (not the address
// dialled, so virtual hosts answer as for the app) and the port.
func hostHeader(t gown.Target) string {
	h := strings.Trim(t.Host, "[]")
	if h == "" && t.Addr.IsValid() {
		h = t.Addr.String()
	}
	return net.JoinHostPort(h, strconv.Itoa(t.Port))
}

// readReply reads one HTTP response. It tells a TLS record and a non-HTTP
// reply apart from a broken HTTP one, skips a few interim 1xx replies, and
// reads the body through io.LimitReader so no more than maxBody+1 bytes of
// it are ever held.
func readReply(br *bufio.Reader) (*reply, error) {
	head, err := br.Peek(5)
	if len(head) > 0 && (head[0] == 0x15 || head[0] == 0x16) && (len(head) < 2 || head[1] == 0x03) {
		// 0x15 alert / 0x16 handshake, then major version 3.
		return nil, errTLSRecord
	}
	if len(head) > 0 && !bytes.HasPrefix([]byte("HTTP/"), head) { // head is at most 5 bytes
		return nil, fmt.Errorf("%w: starts %q", errNotHTTP, head)
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
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if len(body) > maxBody {
			return nil, fmt.Errorf("body over %d bytes: %w", maxBody, gown.ErrReplyTooLarge)
		}
		if err != nil {
			return nil, protocolErr(err)
		}
		return &reply{
			code:    resp.StatusCode,
			server:  resp.Header.Get("Server"),
			wwwAuth: resp.Header.Get("WWW-Authenticate"),
			body:    body,
		}, nil
	}
	return nil, fmt.Errorf("more than %d interim replies: %w", max1xx, gown.ErrProtocol)
}

// protocolErr keeps I/O errors (timeouts, resets, the read cap) as they are,
// so probe.Classify can name them, and marks everything else net/http
// refused as a broken protocol.
func protocolErr(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, gown.ErrReplyTooLarge),
		errors.As(err, &ne), errors.Is(err, net.ErrClosed):
		return err
	}
	return fmt.Errorf("%w: %w", gown.ErrProtocol, err)
}

// wantsTLS reports whether a plaintext reply says the port speaks only TLS:
// a TLS record, or the 400 page a TLS listener sends a plaintext request,
// Go's net/http's ("Client sent an HTTP request to an HTTPS server": Caddy
// and Traefik in front of CouchDB) or nginx's ("The plain HTTP request was
// sent to HTTPS port": the usual TLS proxy in front of CouchDB).
func wantsTLS(rep *reply, err error) bool {
	if errors.Is(err, errTLSRecord) {
		return true
	}
	return rep != nil && rep.code == http.StatusBadRequest && httpget.PlainToHTTPS(rep.body)
}

// statusText is a reply's status for Details and reasons: "HTTP 401".
func statusText(rep *reply) string {
	if rep == nil {
		return "no reply"
	}
	return "HTTP " + strconv.Itoa(rep.code)
}
