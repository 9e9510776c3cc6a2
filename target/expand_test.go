package target

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

// appConfig is the config a scan of an app's endpoints runs with: private
// networks excluded (gown app without --allow-private), DNS off, names
// mapped by --resolve. No test here dials or resolves anything.
func appConfig(t *testing.T) (*Config, *[]string) {
	t.Helper()
	scope := &Scope{}
	for _, ex := range []string{"127.0.0.0/8", "10.0.0.0/8", "secret.example.com"} {
		if err := scope.Exclude(ex); err != nil {
			t.Fatal(err)
		}
	}
	res := NewResolver()
	res.NoDNS = true
	for _, o := range []string{"db.shop.example=127.0.0.1", "api.shop.example=192.0.2.10"} {
		if err := res.Override(o); err != nil {
			t.Fatal(err)
		}
	}
	var errs []string
	cfg := &Config{Catalog: catalog, Ports: []int{6379}, Scope: scope, Resolve: res, Origin: "app",
		OnError: func(spec string, err error) {
			if !errors.Is(err, gown.ErrBadTarget) {
				t.Errorf("%s: error %v does not wrap ErrBadTarget", spec, err)
			}
			errs = append(errs, spec+": "+err.Error())
		}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg, &errs
}

func TestExpandTarget(t *testing.T) {
	addr := netip.MustParseAddr
	cases := []struct {
		name string
		in   gown.Target
		want gown.Target // zero: nothing sent
		err  string      // the OnError line, in part
	}{
		{name: "resolved through --resolve, hint and TLS kept, origin from the config",
			in:   gown.Target{Host: "api.shop.example", Port: 6380, Hint: "redis", TLS: true},
			want: gown.Target{Host: "api.shop.example", Addr: addr("192.0.2.10"), Port: 6380, Hint: "redis", TLS: true, Origin: "app"}},
		{name: "private address after --resolve is excluded",
			in:  gown.Target{Host: "db.shop.example", Port: 27017, Hint: "mongodb"},
			err: "db.shop.example:27017: bad target: db.shop.example (127.0.0.1) is excluded"},
		{name: "name without a mapping under NoDNS",
			in:  gown.Target{Host: "nomap.shop.example", Port: 5432},
			err: "nomap.shop.example has no --resolve mapping and DNS is off"},
		{name: "excluded name is refused before resolving",
			in:  gown.Target{Host: "api.secret.example.com", Port: 9200},
			err: "api.secret.example.com:9200: bad target: api.secret.example.com is excluded"},
		{name: "known address is not resolved again",
			in:   gown.Target{Host: "nomap.shop.example", Addr: addr("192.0.2.20"), Port: 443, Hint: "firebase", TLS: true, Origin: "cli"},
			want: gown.Target{Host: "nomap.shop.example", Addr: addr("192.0.2.20"), Port: 443, Hint: "firebase", TLS: true, Origin: "cli"}},
		{name: "known address out of scope",
			in:  gown.Target{Host: "lan.shop.example", Addr: addr("10.1.2.3"), Port: 6379},
			err: "lan.shop.example:6379: bad target: lan.shop.example (10.1.2.3) is excluded"},
		{name: "address literal resolves to itself",
			in:   gown.Target{Host: "2001:db8::5", Port: 11211},
			want: gown.Target{Host: "2001:db8::5", Addr: addr("2001:db8::5"), Port: 11211, Origin: "app"}},
		{name: "address without a host name",
			in:   gown.Target{Addr: addr("192.0.2.30"), Port: 3306},
			want: gown.Target{Host: "192.0.2.30", Addr: addr("192.0.2.30"), Port: 3306, Origin: "app"}},
		{name: "loopback literal is excluded",
			in:  gown.Target{Host: "127.0.0.1", Port: 6379},
			err: "127.0.0.1:6379: bad target: 127.0.0.1 (127.0.0.1) is excluded"},
		{name: "no port",
			in:  gown.Target{Host: "api.shop.example"},
			err: `api.shop.example:0: bad target: "api.shop.example:0" needs a host and a port in 1-65535`},
		{name: "no host",
			in:  gown.Target{Port: 6379},
			err: `:6379: bad target: ":6379" needs a host and a port in 1-65535`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, errs := appConfig(t)
			out := make(chan gown.Target, 1)
			if err := ExpandTarget(t.Context(), cfg, c.in, out); err != nil {
				t.Fatal(err)
			}
			close(out)
			got, sent := <-out
			if sent != (c.want != gown.Target{}) || got != c.want {
				t.Errorf("sent %v %+v, want %+v", sent, got, c.want)
			}
			if c.err == "" && len(*errs) > 0 || c.err != "" && (len(*errs) != 1 || !strings.Contains((*errs)[0], c.err)) {
				t.Errorf("errors %q, want %q", *errs, c.err)
			}
		})
	}
}

// TestExpandTargetIsExpand: a typed target and the spec a user would type
// for it come out the same, through the same placing.
func TestExpandTargetIsExpand(t *testing.T) {
	for _, c := range []struct {
		spec string
		t    gown.Target
	}{
		{"rediss://api.shop.example:6380", gown.Target{Host: "api.shop.example", Port: 6380, Hint: "redis", TLS: true}},
		{"mongodb+srv://api.shop.example", gown.Target{Host: "api.shop.example", Port: 27017, Hint: "mongodb", TLS: true}},
		{"db.shop.example:27017", gown.Target{Host: "db.shop.example", Port: 27017}},
		{"nomap.shop.example:5432", gown.Target{Host: "nomap.shop.example", Port: 5432}},
	} {
		cfg, errs := appConfig(t)
		out := make(chan gown.Target, 2)
		if err := Expand(t.Context(), cfg, c.spec, out); err != nil {
			t.Fatal(err)
		}
		if err := ExpandTarget(t.Context(), cfg, c.t, out); err != nil {
			t.Fatal(err)
		}
		close(out)
		var got []gown.Target
		for tg := range out {
			got = append(got, tg)
		}
		switch {
		case len(got) == 2 && got[0] == got[1] && len(*errs) == 0:
		case len(got) == 0 && len(*errs) == 2 && strings.SplitN((*errs)[0], ": ", 2)[1] == strings.SplitN((*errs)[1], ": ", 2)[1]:
		default:
			t.Errorf("%s: targets %+v, errors %q: the two paths differ", c.spec, got, *errs)
		}
	}
}

// TestExpandTargetStopsWithContext: a blocked send gives way to the
// caller's ctx.
func TestExpandTargetStopsWithContext(t *testing.T) {
	cfg, _ := appConfig(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := ExpandTarget(ctx, cfg, gown.Target{Host: "api.shop.example", Port: 6379}, make(chan gown.Target))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestValidateNeedsCatalog(t *testing.T) {
	cfg := &Config{Ports: []int{6379}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "catalog") {
		t.Errorf("Validate without a catalog: %v", err)
	}
}

// TestRejectCutsCredentials: a URL spec that cannot be used reaches
// OnError, which prints it, without the user info, path or query it
// carried, whether it failed to parse or was out of scope.
func TestRejectCutsCredentials(t *testing.T) {
	cfg, errs := appConfig(t)
	out := make(chan gown.Target, 8)
	for _, spec := range []string{
		"redis://:s3cretpass@127.0.0.1:6379/0?auth=t0ken", // excluded by scope
		"mongodb://mongouser:m0ngopw@nomap.shop.example",  // no --resolve mapping
		"redis://:pa ss@db.shop.example:6379",             // not a URL: invalid user info
		"redis://:s3/cr%zzet@db.shop.example",             // not a URL: the parser quotes a part of it
	} {
		if err := Expand(t.Context(), cfg, spec, out); err != nil {
			t.Fatal(err)
		}
	}
	if len(*errs) != 4 || len(out) != 0 {
		t.Fatalf("OnError got %q, %d targets sent: want four errors, no target", *errs, len(out))
	}
	for _, e := range *errs {
		t.Log(e)
		for _, secret := range []string{"s3cret", "t0ken", "mongouser", "m0ngopw", "pa ss", ":s3", "cr%zz"} {
			if strings.Contains(e, secret) {
				t.Errorf("OnError line %q holds %q", e, secret)
			}
		}
	}
	for i, want := range []string{"redis://127.0.0.1:6379: bad target: 127.0.0.1 (127.0.0.1) is excluded",
		"mongodb://nomap.shop.example: ", "redis://[REDACTED]: bad target: redis://[REDACTED]: net/url: invalid userinfo",
		"redis://[REDACTED]: bad target: redis://[REDACTED]: not a URL gown can read"} {
		if !strings.HasPrefix((*errs)[i], want) {
			t.Errorf("OnError line %q, want it to start %q", (*errs)[i], want)
		}
	}
}
