package mysql

import (
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/sampletest"
)

// TestRealSampleOverKeptLogin runs the engine with sampling on against
// MariaDB servers without TLS, open to root and to anonymous. The probe's
// login that took the inventory is kept, and the sampler reads over it:
// one connection in all where sampling logged in again before, and the
// planted rows sampled all the same.
func TestRealSampleOverKeptLogin(t *testing.T) {
	for _, c := range []struct{ name, sql, login string }{
		{"root", "CREATE USER 'root'@'%'; GRANT ALL ON *.* TO 'root'@'%';", "root with empty password"},
		{"anonymous", "CREATE USER 'root'@'%' IDENTIFIED BY 'secret'; CREATE USER ''@'%'; GRANT SELECT ON appdb.* TO ''@'%';", "anonymous"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startMariaDB(t, false)
			srv.sql(t, dropTCPAccounts+plantData+c.sql)
			res, samples, cd := sampletest.RunCounted(t, New(), gown.Target{Host: "127.0.0.1", Port: srv.port, Hint: "mysql"}, 30*time.Second)
			if res == nil || res.Status != gown.StatusOpen || res.Details["login"] != c.login {
				t.Fatalf("result %+v", res)
			}
			emails := 0
			for _, x := range samples {
				for _, f := range x.Fields {
					if x.Database == "appdb" && x.Collection == "users" && f.Path == "email" && strings.HasSuffix(f.Value, "@example.org") {
						emails++
					}
				}
			}
			t.Logf("%s: %d connections (%d beside another), %d samples, %d e-mails of appdb.users", c.login, cd.Dials, cd.Overlap, len(samples), emails)
			if emails != 3 {
				t.Errorf("%d sampled e-mails of appdb.users, want 3: %+v", emails, samples)
			}
			want := 1 // the root login, kept
			if c.name == "anonymous" {
				want = 2 // root refused, then the anonymous login, kept
			}
			if cd.Dials != want || cd.Overlap != 0 {
				t.Errorf("%d connections, %d opened beside another; want %d and 0", cd.Dials, cd.Overlap, want)
			}
		})
	}
}
