package gown

import (
	"slices"
	"strings"
	"testing"
)

func testCatalog() *Catalog {
	return NewCatalog(
		StoreKind{Name: "redis", Ports: []int{6379, 6380},
			Schemes: []Scheme{{Name: "redis", Port: 6379}, {Name: "rediss", Port: 6379, TLS: true}}},
		StoreKind{Name: "mysql", Ports: []int{3306}, ServerFirst: true, Schemes: []Scheme{{Name: "mysql", Port: 3306}}},
		StoreKind{Name: "firebase", HintOnly: true, Schemes: []Scheme{{Name: "firebase", Port: 443, TLS: true}},
			HostSuffixes: []string{".firebaseio.com", ".firebasedatabase.app"}},
	)
}

func TestCatalogLookups(t *testing.T) {
	c := testCatalog()
	if got := c.Kinds(); len(got) != 3 || got[0].Name != "redis" || got[2].Name != "firebase" {
		t.Errorf("Kinds() = %+v", got)
	}
	if k, ok := c.Kind("mysql"); !ok || !k.ServerFirst || !slices.Equal(k.Ports, []int{3306}) {
		t.Errorf("Kind(mysql) = %+v, %v", k, ok)
	}
	if _, ok := c.Kind("nosuch"); ok {
		t.Error("Kind(nosuch) found")
	}

	type look struct {
		store string
		s     Scheme
		ok    bool
	}
	for name, want := range map[string]look{
		"rediss":  {"redis", Scheme{"rediss", 6379, true}, true},
		"REDIS":   {"redis", Scheme{"redis", 6379, false}, true},
		"https":   {"", Scheme{"https", 443, true}, true}, // names no store, but every catalog knows it
		"amqps":   {"", Scheme{"amqps", 5671, true}, true},
		"bolt":    {"", Scheme{"bolt", 7687, false}, true},
		"gopher":  {},
		"mongodb": {}, // not in this catalog
	} {
		store, s, ok := c.Scheme(name)
		if (look{store, s, ok}) != want {
			t.Errorf("Scheme(%q) = %q %+v %v, want %+v", name, store, s, ok, want)
		}
	}
	schemes := c.Schemes()
	if !slices.IsSorted(schemes) || !slices.Contains(schemes, "rediss") || !slices.Contains(schemes, "http") {
		t.Errorf("Schemes() = %v", schemes)
	}

	for host, want := range map[string]string{
		"shop-1.firebaseio.com":                            "firebase",
		"Shop-1.FirebaseIO.com.":                           "firebase",
		"x-default-rtdb.europe-west1.firebasedatabase.app": "firebase",
		"firebaseio.com":                                   "",
		"firebaseio.com.evil.net":                          "",
		"api.shop.net":                                     "",
	} {
		k, ok := c.HostKind(host)
		if k.Name != want || ok != (want != "") {
			t.Errorf("HostKind(%q) = %q, %v; want %q", host, k.Name, ok, want)
		}
	}

	// A host suffix names its store over a TLS scheme, whatever the scheme
	// names; over plaintext it does not.
	for _, c2 := range []struct {
		scheme, host, store string
		port                int
		tls, ok             bool
	}{
		{"https", "shop-1.firebaseio.com", "firebase", 443, true, true},
		{"http", "shop-1.firebaseio.com", "", 80, false, true},
		{"rediss", "shop-1.firebaseio.com", "firebase", 6379, true, true},
		{"redis", "cache.shop.net", "redis", 6379, false, true},
		{"https", "api.shop.net", "", 443, true, true},
		{"gopher", "shop-1.firebaseio.com", "", 0, false, false},
	} {
		store, s, ok := c.URL(c2.scheme, c2.host)
		if store != c2.store || s.Port != c2.port || s.TLS != c2.tls || ok != c2.ok {
			t.Errorf("URL(%q, %q) = %q %+v %v", c2.scheme, c2.host, store, s, ok)
		}
	}
}

// TestCatalogKeepsItsOwnCopy: changing a descriptor's slices after the
// catalog was built does not change the table.
func TestCatalogKeepsItsOwnCopy(t *testing.T) {
	ports := []int{6379}
	c := NewCatalog(StoreKind{Name: "redis", Ports: ports})
	ports[0] = 1
	if k, _ := c.Kind("redis"); k.Ports[0] != 6379 {
		t.Errorf("catalog port changed to %d", k.Ports[0])
	}
}

func TestCatalogPanics(t *testing.T) {
	fine := StoreKind{Name: "redis", Ports: []int{6379}, Schemes: []Scheme{{Name: "redis", Port: 6379}},
		HostSuffixes: []string{".redis.example"}}
	for _, c := range []struct {
		name string
		kind StoreKind
		want string
	}{
		{"empty name", StoreKind{Ports: []int{1}}, "one lowercase word"},
		{"capitals", StoreKind{Name: "Redis", Ports: []int{1}}, "one lowercase word"},
		{"duplicate name", StoreKind{Name: "redis", Ports: []int{1}}, "declared twice"},
		{"duplicate scheme", StoreKind{Name: "b", Ports: []int{1}, Schemes: []Scheme{{Name: "redis", Port: 1}}}, `scheme "redis" claimed by "redis" and "b"`},
		{"scheme of no store", StoreKind{Name: "b", Ports: []int{1}, Schemes: []Scheme{{Name: "wss", Port: 1}}}, `scheme "wss" claimed by "" and "b"`},
		{"scheme twice in one kind", StoreKind{Name: "b", Ports: []int{1}, Schemes: []Scheme{{Name: "b", Port: 1}, {Name: "b", Port: 2}}}, `scheme "b" claimed`},
		{"scheme without port", StoreKind{Name: "b", Ports: []int{1}, Schemes: []Scheme{{Name: "b"}}}, "port in 1-65535"},
		{"scheme in capitals", StoreKind{Name: "b", Ports: []int{1}, Schemes: []Scheme{{Name: "B", Port: 1}}}, "lowercase name"},
		{"duplicate suffix", StoreKind{Name: "b", Ports: []int{1}, HostSuffixes: []string{".redis.example"}}, "claimed by"},
		{"suffix without dot", StoreKind{Name: "b", Ports: []int{1}, HostSuffixes: []string{"b.example"}}, "want a lowercase"},
		{"no ports", StoreKind{Name: "b"}, "hint-only"},
		{"hint-only with ports", StoreKind{Name: "b", Ports: []int{1}, HintOnly: true}, "hint-only"},
		{"port 0", StoreKind{Name: "b", Ports: []int{0}}, "out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				e := recover()
				if s, _ := e.(string); !strings.Contains(s, c.want) {
					t.Errorf("panic %v, want one saying %q", e, c.want)
				}
			}()
			NewCatalog(fine, c.kind)
		})
	}
}
