package mysql

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// BenchmarkProbeOpen probes a real MariaDB whose root logs in with an empty
// password, as the bench farm's open servers do: greeting, login, the
// inventory, and the reads that decide (the account with the tables it
// names, then one SELECT 1), over one connection.
func BenchmarkProbeOpen(b *testing.B) {
	srv := startMariaDB(b, false)
	srv.sql(b, dropTCPAccounts+plantData+"CREATE USER 'root'@'%'; GRANT ALL ON *.* TO 'root'@'%';")
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	tg := gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: srv.port}
	for b.Loop() {
		ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
		r, err := New().Probe(ctx, tg, d)
		cancel()
		if err != nil || r.Status != gown.StatusOpen {
			b.Fatalf("Probe: %+v, %v", r, err)
		}
	}
}

// BenchmarkStatements times each statement the probe sends over one
// logged-in session of a real MariaDB (root with an empty password, the
// planted appdb and the server's own schemas): what the reads that decide
// add to the inventory every open login already pays for.
func BenchmarkStatements(b *testing.B) {
	srv := startMariaDB(b, false)
	srv.sql(b, dropTCPAccounts+plantData+"CREATE USER 'root'@'%'; GRANT ALL ON *.* TO 'root'@'%';")
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	tg := gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: srv.port}
	c, err := d.Dial(b.Context(), tg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s := newSession(c)
	g, refused, err := readGreeting(s.br)
	if err != nil || refused != nil {
		b.Fatalf("greeting: %v %v", refused, err)
	}
	s.greet, s.seq = g, 1
	if se, err := s.login("root"); err != nil || se != nil {
		b.Fatalf("login: %v %v", se, err)
	}
	for _, st := range []struct{ name, q string }{
		{"inventory", inventoryQuery},
		{"reads", readsQuery},
		{"select1", "SELECT 1 FROM `appdb`.`orders` LIMIT 1"},
	} {
		b.Run(st.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.query(st.q, maxSchemas+1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
