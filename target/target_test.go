package target

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/all"
)

// catalog is the real table of schemes: the one gown parses targets with.
var catalog = all.Catalog()

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Spec
		err  bool
	}{
		{in: "127.0.0.1", want: Spec{Host: "127.0.0.1"}},
		{in: "127.0.0.1:6379", want: Spec{Host: "127.0.0.1", Port: 6379}},
		{in: "[::1]:3306", want: Spec{Host: "::1", Port: 3306}},
		{in: "::1", want: Spec{Host: "::1"}},
		{in: "DB.Example.com", want: Spec{Host: "db.example.com"}},
		{in: "db.example.com:9200", want: Spec{Host: "db.example.com", Port: 9200}},
		{in: "redis://:pw@cache.example.com", want: Spec{Host: "cache.example.com", Port: 6379, Hint: "redis"}},
		{in: "rediss://cache.example.com:7000/0", want: Spec{Host: "cache.example.com", Port: 7000, Hint: "redis", TLS: true}},
		{in: "mysql://root@10.1.2.3/app", want: Spec{Host: "10.1.2.3", Port: 3306, Hint: "mysql"}},
		{in: "https://api.example.com/v1", want: Spec{Host: "api.example.com", Port: 443, TLS: true}},
		{in: "https://shopdata.blob.core.windows.net/photos/2024/a.jpg?sv=x", want: Spec{Host: "shopdata.blob.core.windows.net", Port: 443, Hint: "azblob", TLS: true, Path: "/photos"}},
		{in: "https://firestore.googleapis.com/v1/projects/gown-shop/databases/(default)/documents/users", want: Spec{Host: "firestore.googleapis.com", Port: 443, Hint: "firestore", TLS: true, Path: "/v1/projects/gown-shop/databases/(default)"}},
		{in: "https://shopdata.blob.core.windows.net/", want: Spec{Host: "shopdata.blob.core.windows.net", Port: 443, Hint: "azblob", TLS: true}},
		{in: "https://shop-app.firebaseio.com/.json", want: Spec{Host: "shop-app.firebaseio.com", Port: 443, Hint: "firebase", TLS: true}},
		{in: "https://x-default-rtdb.europe-west1.firebasedatabase.app", want: Spec{Host: "x-default-rtdb.europe-west1.firebasedatabase.app", Port: 443, Hint: "firebase", TLS: true}},
		{in: "http://shop-app.firebaseio.com", want: Spec{Host: "shop-app.firebaseio.com", Port: 80}}, // a plaintext URL reaches a redirect, not the database
		{in: "firebase://127.0.0.1:9000", want: Spec{Host: "127.0.0.1", Port: 9000, Hint: "firebase", TLS: true}},
		{in: "mongodb+srv://u:p@cluster0.ab1cd.mongodb.net/app", want: Spec{Host: "cluster0.ab1cd.mongodb.net", Port: 27017, Hint: "mongodb", TLS: true}},
		{in: "couchbases://cb.example.com", want: Spec{Host: "cb.example.com", Port: 18091, Hint: "couchbase", TLS: true}},
		{in: "MariaDB://db.example.com", want: Spec{Host: "db.example.com", Port: 3306, Hint: "mysql"}},
		{in: "amqps://mq.example.com", want: Spec{Host: "mq.example.com", Port: 5671, TLS: true}},
		{in: "gopher://old.example.com", want: Spec{Host: "old.example.com"}}, // unknown scheme: the port list decides
		{in: "127.0.0.0/30", want: Spec{Prefix: netip.MustParsePrefix("127.0.0.0/30")}},
		{in: "127.0.0.5/30", want: Spec{Prefix: netip.MustParsePrefix("127.0.0.4/30")}},
		{in: "", err: true},
		{in: "host:99999", err: true},
		{in: "bad host!", err: true},
		{in: "10.0.0.0/33", err: true},
		{in: "redis://", err: true},
		// What cannot be a host name is refused here, before any resolver.
		{in: "[::1]", want: Spec{Host: "::1"}},
		{in: "db.example.com.", want: Spec{Host: "db.example.com"}},
		{in: "xn--bcher-kva.example", want: Spec{Host: "xn--bcher-kva.example"}},
		{in: "_service._tcp.example.com", want: Spec{Host: "_service._tcp.example.com"}},
		{in: "1.2.3.4.example", want: Spec{Host: "1.2.3.4.example"}},
		{in: "3com.example:6379", want: Spec{Host: "3com.example", Port: 6379}},
		{in: "[::1", err: true},
		{in: "::1]", err: true},
		{in: "[::1:6379", err: true},
		{in: "[db.example]", err: true},
		{in: "redis://[::1", err: true},
		{in: "256.1.1.1", err: true},
		{in: "256.1.1.1:6379", err: true},
		{in: "10.1.2.999", err: true},
		{in: "1.2.3.4.5", err: true},
		{in: "12345", err: true},
		{in: "0x7f.1", err: true},
		{in: "host.123", err: true},
		{in: "-l", err: true},
		{in: "-db.example.com", err: true},
		{in: "db-.example.com", err: true},
		{in: "db.-example.com:6379", err: true},
		{in: "redis://-l:6379", err: true},
		{in: "a..b", err: true},
		{in: strings.Repeat("a.", 127) + "com", err: true}, // 257 characters
	}
	for _, c := range cases {
		got, err := Parse(c.in, catalog)
		if c.err {
			if err == nil || !errors.Is(err, gown.ErrBadTarget) {
				t.Errorf("Parse(%q) err = %v, want ErrBadTarget", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		got.Raw = ""
		if got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts("6379, 3306,3300-3302,6379")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{3300, 3301, 3302, 3306, 6379}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"", "0", "70000", "5-3", "x"} {
		if _, err := ParsePorts(bad); err == nil {
			t.Errorf("ParsePorts(%q) accepted", bad)
		}
	}
}

func collect(t *testing.T, cfg *Config, specs ...string) ([]gown.Target, []string) {
	t.Helper()
	var errs []string
	cfg.OnError = func(s string, err error) { errs = append(errs, s+": "+err.Error()) }
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	out := make(chan gown.Target, 1024)
	go func() {
		defer close(out)
		for _, s := range specs {
			if err := Expand(context.Background(), cfg, s, out); err != nil {
				t.Error(err)
			}
		}
	}()
	var got []gown.Target
	for tg := range out {
		got = append(got, tg)
	}
	return got, errs
}

func TestExpand(t *testing.T) {
	scope := &Scope{}
	for _, ex := range []string{"127.0.0.2", "secret.example.com"} {
		if err := scope.Exclude(ex); err != nil {
			t.Fatal(err)
		}
	}
	res := NewResolver()
	res.NoDNS = true
	if err := res.Override("db.app.example=127.0.0.7"); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Catalog: catalog, Ports: []int{6379, 3306}, MaxCIDR: 256, Scope: scope, Resolve: res}
	got, errs := collect(t, cfg, "127.0.0.0/30", "db.app.example:9200", "secret.example.com", "api.secret.example.com", "127.0.0.0/16", "nodns.example")

	var names []string
	for _, tg := range got {
		names = append(names, tg.Dial())
	}
	want := []string{"127.0.0.0:3306", "127.0.0.0:6379", "127.0.0.1:3306", "127.0.0.1:6379", "127.0.0.3:3306", "127.0.0.3:6379", "127.0.0.7:9200"}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("targets %v, want %v", names, want)
	}
	if len(errs) != 4 {
		t.Fatalf("errors %q, want 4 (two excluded names, CIDR over cap, no mapping)", errs)
	}
	if !strings.Contains(strings.Join(errs, "\n"), "above the cap of 256") {
		t.Errorf("CIDR cap error missing from %q", errs)
	}
}

func TestExpandIPv6(t *testing.T) {
	cfg := &Config{Catalog: catalog, Ports: []int{6379}, MaxCIDR: 16}
	got, errs := collect(t, cfg, "::1/126", "::/64")
	if len(got) != 4 || len(errs) != 1 {
		t.Fatalf("got %d targets and errors %q; want 4 targets and the /64 refused", len(got), errs)
	}
}
