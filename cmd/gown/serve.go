package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/web"
	"github.com/spf13/pflag"
)

// serveLong is gown help serve.
const serveLong = `Serves a read-only dashboard of the results store: an overview with charts,
the scans, each scan's findings (filter, sort, page), a finding with its
evidence, the diff of two scans, the apps, and a JSON API under /api/
(docs/dashboard.md). Nothing it serves comes from the network, and no page
changes the store.

It listens on 127.0.0.1:8080 unless told otherwise. Outside loopback (or with
--token) every request needs an access token: the first start makes one,
prints it once with a login address, and keeps only its hash in the results
store. Lost it? --new-token replaces it.
`

// serveFlags are gown serve's settings.
type serveFlags struct {
	listen     string
	token      bool
	newToken   bool
	allowHosts []string
}

// cmdServe runs the dashboard until ctx ends (Ctrl-C, SIGTERM), then lets
// the requests in flight finish.
func cmdServe(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("gown serve", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	_, open := openFlags(fs)
	var f serveFlags
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "`ADDR:PORT` to listen on; outside loopback a token is required")
	fs.BoolVar(&f.token, "token", false, "require the access token even on loopback")
	fs.BoolVar(&f.newToken, "new-token", false, "make a new access token, replacing the stored one (implies --token)")
	fs.StringSliceVar(&f.allowHosts, "allow-host", nil, "a host `NAME` browsers may reach the dashboard by, besides IP addresses and localhost (repeatable)")
	fs.BoolVarP(&io.quiet, "quiet", "q", false, "print nothing but the token and errors")
	if err := parseFlags(fs, "serve", args, io); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("gown serve takes no arguments, got %q", fs.Args())}
	}
	loopback, err := loopbackListen(f.listen)
	if err != nil {
		return usageError{err}
	}
	st, err := open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg := web.Config{Store: st, AllowedHosts: f.allowHosts, Version: version}
	if !loopback || f.token || f.newToken {
		if cfg.TokenHash, err = tokenHash(ctx, st, f.newToken, f.listen, io); err != nil {
			return err
		}
	}
	h, err := web.New(cfg)
	if err != nil {
		return err
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", f.listen)
	if err != nil {
		return fmt.Errorf("gown serve: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	mode := "no token: loopback only"
	if cfg.TokenHash != "" {
		mode = "token required"
	}
	io.notef("gown serve: dashboard at http://%s/ (read-only, %s); Ctrl-C stops it\n", l.Addr(), mode)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("gown serve: %w", err)
	case <-ctx.Done():
	}
	// Requests in flight get a few seconds to finish; the request contexts
	// are already cancelled, so store reads stop at once.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("gown serve: shutdown: %w", err)
	}
	io.notef("gown serve: stopped\n")
	return nil
}

// loopbackListen reports whether addr listens on loopback only: a
// loopback IP or localhost. An empty host (":8080") is every interface.
// The name is not resolved: gown serve does no DNS of its own.
func loopbackListen(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("--listen %q: want ADDR:PORT, e.g. 127.0.0.1:8080: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback(), nil
}

// tokenHash returns the stored token's hash, making (and printing, this
// once) a new token when none is stored or one was asked for.
func tokenHash(ctx context.Context, st any, renew bool, listen string, io stdio) (string, error) {
	tk, ok := st.(store.TokenKeeper)
	if !ok {
		return "", fmt.Errorf("gown serve: this results store (%T) cannot keep an access token", st)
	}
	h, have, err := tk.DashboardToken(ctx)
	if err != nil {
		return "", err
	}
	if have && !renew {
		io.notef("gown serve: using the access token made earlier (gown serve --new-token makes a new one)\n")
		return h, nil
	}
	tok := web.NewToken()
	h = web.HashToken(tok)
	if err := tk.SetDashboardToken(ctx, h); err != nil {
		return "", err
	}
	// Printed once, on standard output; the store keeps only its hash.
	fmt.Fprintf(io.out, "gown serve: new access token (shown this once; the store keeps only its hash):\n  %s\n"+
		"  log in:  http://%s/login?token=%s\n  API:     Authorization: Bearer %s\n", tok, listen, tok, tok)
	return h, nil
}
