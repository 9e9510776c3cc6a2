package httpget

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

// MaxFetchBody caps the bytes of a reply body gown reads; the rest is dropped.
const MaxFetchBody = 1 << 20

// ErrNotHTTP marks a reply that does not start like an HTTP response.
var ErrNotHTTP = fmt.Errorf("%w: the reply is not HTTP", gown.ErrNotService)

// Response is one HTTP answer, with the body capped at MaxFetchBody.
type Response struct {
	Code int
	Head http.Header
	Body []byte
	Cut  bool // the body was longer than MaxFetchBody or ended early
}

// Fetched is one connection's request and reply; evidence is kept even when
// the exchange failed.
type Fetched struct {
	Resp     *Response
	TLS      *gown.TLS
	Evidence []gown.Evidence
}

// Fetch sends one GET over a fresh connection and reads the reply. The request
// is written by hand and says Connection: close, so nothing else travels on
// the connection and the reply ends where the server closes it.
func Fetch(ctx context.Context, t gown.Target, d probe.Dialer, useTLS bool, path string) (x Fetched, err error) {
	host, err := FetchHost(t, useTLS)
	if err != nil {
		return x, err
	}
	c, err := d.Dial(ctx, t)
	if err != nil {
		return x, err
	}
	defer c.Close()
	// Runs before Close (defers are last in, first out).
	defer func() { x.Evidence = c.Evidence() }()
	if useTLS {
		if err := c.UpgradeTLS(probe.ServerName(t)); err != nil {
			return x, err
		}
		x.TLS = c.TLS()
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
		return x, ErrNotHTTP
	}
	hr, err := http.ReadResponse(br, nil)
	if err != nil {
		return x, fmt.Errorf("%w: %w", gown.ErrProtocol, err)
	}
	defer hr.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(hr.Body, MaxFetchBody+1))
	x.Resp = &Response{Code: hr.StatusCode, Head: hr.Header, Body: body, Cut: rerr != nil || len(body) > MaxFetchBody}
	if len(body) > MaxFetchBody {
		x.Resp.Body = body[:MaxFetchBody]
	}
	return x, nil
}

// FetchHost names the target as the Host header must: the name the app
// gave (virtual hosts, Firebase among them, route on it), with the port unless it is the scheme's.
func FetchHost(t gown.Target, useTLS bool) (string, error) {
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
