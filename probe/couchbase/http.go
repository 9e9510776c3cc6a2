package couchbase

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// maxBody caps the bytes of a reply body gown reads; the rest is dropped.
const maxBody = 1 << 20

// errNotHTTP marks a reply that does not start like an HTTP response.
var errNotHTTP = fmt.Errorf("%w: the reply is not HTTP", gown.ErrNotService)

// response is one HTTP answer, with the body capped at maxBody.
type response struct {
	code int
	head http.Header
	body []byte
	cut  bool // the body was longer than maxBody or ended early
}

// exchange is one connection's request and reply; evidence is kept even when
// the exchange failed.
type exchange struct {
	resp     *response
	tls      *gown.TLS
	evidence []gown.Evidence
}

// get sends one GET over a fresh connection and reads the reply. The request
// is written by hand and says Connection: close, so nothing else travels on
// the connection and the reply ends where the server closes it.
func get(ctx context.Context, t gown.Target, d probe.Dialer, useTLS bool, path string) (x exchange, err error) {
	host, err := hostHeader(t, useTLS)
	if err != nil {
		return x, err
	}
	c, err := d.Dial(ctx, t)
	if err != nil {
		return x, err
	}
	defer c.Close()
	// Runs before Close (defers are last in, first out).
	defer func() { x.evidence = c.Evidence() }()
	if useTLS {
		if err := c.UpgradeTLS(probe.ServerName(t)); err != nil {
			return x, err
		}
		x.tls = c.TLS()
	}
	c.Step("GET " + path)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUser-Agent: gown\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return x, err
	}
	br := bufio.NewReader(c)
	if head, err := br.Peek(5); err != nil {
		return x, err
	} else if string(head) != "HTTP/" {
		return x, errNotHTTP
	}
	hr, err := http.ReadResponse(br, nil)
	if err != nil {
		return x, fmt.Errorf("%w: %w", gown.ErrProtocol, err)
	}
	defer hr.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(hr.Body, maxBody+1))
	x.resp = &response{code: hr.StatusCode, head: hr.Header, body: body, cut: rerr != nil || len(body) > maxBody}
	if len(body) > maxBody {
		x.resp.body = body[:maxBody]
	}
	return x, nil
}

// hostHeader names the target as the Host header must: the name the app
// gave (virtual hosts route on it), with the port unless it is the scheme's.
func hostHeader(t gown.Target, useTLS bool) (string, error) {
	if t.Host == "" || strings.ContainsFunc(t.Host, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", fmt.Errorf("%w: host %q cannot go in a Host header", gown.ErrBadTarget, t.Host)
	}
	if (useTLS && t.Port == 443) || (!useTLS && t.Port == 80) {
		if strings.Contains(t.Host, ":") {
			return "[" + t.Host + "]", nil
		}
		return t.Host, nil
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), nil
}
