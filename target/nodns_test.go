package target

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/gownscan/gown"
)

// notNames cannot be host names. Before, each went to the system resolver:
// a cgo resolver (getaddrinfo) asks DNS about "256.1.1.1" and "host.123".
var notNames = []string{"256.1.1.1", "10.1.2.999", "12345", "-l", "--list", "a-.example", "-a.example",
	"host.123", "a..example", "bad host", "[::1", "x_y.example-"}

// strictDNS is a Resolver whose DNS fails the test when asked about
// anything but the names allowed, and counts what it was asked.
func strictDNS(t *testing.T, allowed ...string) (*Resolver, func() []string) {
	r := NewResolver()
	var mu sync.Mutex
	var asked []string
	r.dns = func(_ context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		asked = append(asked, host)
		mu.Unlock()
		for _, a := range allowed {
			if host == a {
				return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
			}
		}
		t.Errorf("DNS asked about %q, which cannot be a host name", host)
		return nil, errors.New("no DNS in this test")
	}
	return r, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

// TestNoDNSForWhatCannotBeAName expands specs that cannot be host names,
// as typed targets, list lines and app endpoints, with a resolver whose DNS
// fails the test when called: each is refused with ErrBadTarget and DNS is
// never asked. A real name, last, shows the DNS hook is the one in use.
func TestNoDNSForWhatCannotBeAName(t *testing.T) {
	res, asked := strictDNS(t, "db.example.com")
	var refused []string
	cfg := &Config{Catalog: catalog, Ports: []int{6379}, Resolve: res, OnError: func(spec string, err error) {
		if !errors.Is(err, gown.ErrBadTarget) {
			t.Errorf("%s: %v is not ErrBadTarget", spec, err)
		}
		refused = append(refused, spec)
		t.Logf("refused %s", err)
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	out := make(chan gown.Target, 16)
	for _, s := range notNames {
		if err := Expand(t.Context(), cfg, s, out); err != nil {
			t.Fatal(err)
		}
		if err := Expand(t.Context(), cfg, "redis://"+s+":6379", out); err != nil {
			t.Fatal(err)
		}
		// An app's endpoint takes ExpandTarget, which skips Parse: the
		// resolver refuses it itself.
		if err := ExpandTarget(t.Context(), cfg, gown.Target{Host: s, Port: 6379}, out); err != nil {
			t.Fatal(err)
		}
		if _, err := res.Lookup(t.Context(), s); !errors.Is(err, gown.ErrBadTarget) {
			t.Errorf("Lookup(%q) = %v, want ErrBadTarget", s, err)
		}
	}
	if len(out) != 0 || len(refused) != 3*len(notNames) {
		t.Errorf("%d targets sent, %d refused; want none sent, %d refused", len(out), len(refused), 3*len(notNames))
	}
	if err := Expand(t.Context(), cfg, "db.example.com:6379", out); err != nil {
		t.Fatal(err)
	}
	if got := asked(); len(got) != 1 || got[0] != "db.example.com" || len(out) != 1 {
		t.Errorf("DNS asked %q, %d targets sent; want only db.example.com, one target", got, len(out))
	}
	// --resolve refuses to map what no spec could name.
	if err := res.Override("256.1.1.1=127.0.0.1"); !errors.Is(err, gown.ErrBadTarget) || !strings.Contains(err.Error(), "--resolve") {
		t.Errorf(`Override("256.1.1.1=127.0.0.1") = %v; want ErrBadTarget naming --resolve`, err)
	}
}

// TestCheckNameReasons checks that each refusal says why.
func TestCheckNameReasons(t *testing.T) {
	for name, why := range map[string]string{
		"256.1.1.1":                     "nor an IPv4 address",
		"host.123":                      `last label "123" is all digits`,
		"-l":                            `label "-l" begins or ends with '-'`,
		"a..b":                          "an empty label",
		"bad host":                      "character ' '",
		strings.Repeat("a", 64):         "longer than 63",
		strings.Repeat("a.", 127) + "c": "longer than 253",
	} {
		err := CheckName(name)
		if !errors.Is(err, gown.ErrBadTarget) || !strings.Contains(err.Error(), why) {
			t.Errorf("CheckName(%.20q) = %v; want ErrBadTarget saying %q", name, err, why)
		}
	}
	for _, ok := range []string{"localhost", "db.example.com", "db.example.com.", "_srv._tcp.example", "xn--bcher-kva.example", "a1-b2.c3"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", ok, err)
		}
	}
}
