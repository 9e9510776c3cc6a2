package postgres

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/gownscan/gown"
)

// readOnly fails the test when the fake saw a statement other than gown's two.
func readOnly(t *testing.T, f *fake) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, q := range f.queries {
		if q != "postgres: "+queryDatabases && q != "postgres: "+queryRows && q != "shop: "+queryRows && q != "template1: "+queryDatabases && q != "template1: "+queryRows {
			t.Errorf("unexpected statement %q", q)
		}
	}
}

func TestProbeTrust(t *testing.T) {
	f := &fake{sslAnswer: "N", startup: trustStartup}
	res := runProbe(t, f)
	readOnly(t, f)
	if res.Status != gown.StatusOpen || res.Product != "PostgreSQL" || res.Version != "15.18 (Debian 15.18-0+deb12u1)" {
		t.Fatalf("result = %+v", res)
	}
	if res.TLS.Mode != gown.TLSNone || res.Details["auth"] != "trust" || res.Details["superuser"] != "on" {
		t.Errorf("tls = %+v, details = %v", res.TLS, res.Details)
	}
	inv := res.Inventory
	if inv == nil || inv.Items != 300 || inv.Bytes != 7757159 || len(inv.Databases) != 4 {
		t.Fatalf("inventory = %+v", inv)
	}
	want := map[string]gown.Database{
		"postgres":  {Name: "postgres", Bytes: 7634279, System: true},
		"shop":      {Name: "shop", Items: 300, Bytes: 7757159},
		"template0": {Name: "template0", Bytes: 7471619, System: true},
		"template1": {Name: "template1", Bytes: 7708007, System: true},
	}
	for _, d := range inv.Databases {
		if d != want[d.Name] {
			t.Errorf("database %+v, want %+v", d, want[d.Name])
		}
	}
	steps := []string{}
	for _, e := range res.Evidence {
		steps = append(steps, e.Step)
	}
	for _, s := range []string{"SSLRequest", "startup postgres", "list databases", "count rows", "startup shop"} {
		if !slices.Contains(steps, s) {
			t.Errorf("evidence steps %q lack %q", steps, s)
		}
	}
}

func TestProbeVerdicts(t *testing.T) {
	reply := func(s string) func(string, bool) string { return func(string, bool) string { return s } }
	cases := []struct {
		name   string
		f      *fake
		status gown.Status
		auth   string
		code   string
		conns  int
	}{
		{"scram", &fake{sslAnswer: "N", startup: reply(replySCRAM)}, gown.StatusAuthRequired, "scram-sha-256", "", 1},
		{"md5", &fake{sslAnswer: "N", startup: reply(replyMD5)}, gown.StatusAuthRequired, "md5", "", 1},
		{"password", &fake{sslAnswer: "N", startup: reply(replyPassword)}, gown.StatusAuthRequired, "password", "", 1},
		{"pg_hba reject", &fake{sslAnswer: "N", startup: reply(replyReject)}, gown.StatusRestricted, "", "28000", 1},
		{"no pg_hba entry", &fake{sslAnswer: "N", startup: reply(replyNoEntry)}, gown.StatusRestricted, "", "28000", 1},
		{"role missing", &fake{sslAnswer: "N", startup: reply(replyNoRole)}, gown.StatusRestricted, "trust", "28000", 1},
		{"old server", &fake{sslAnswer: msg('E', "SFATAL\x00C08P01\x00Munsupported frontend protocol\x00\x00"), startup: reply(replySCRAM)}, gown.StatusAuthRequired, "scram-sha-256", "", 2},
		{"too many", &fake{sslAnswer: "N", startup: reply(msg('E', "SFATAL\x00VFATAL\x00C53300\x00Msorry, too many clients already\x00\x00"))}, gown.StatusUnknown, "", "53300", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runProbe(t, c.f)
			if res.Status != c.status || res.Details["auth"] != c.auth || res.Details["sqlstate"] != c.code {
				t.Fatalf("status %s auth %q code %q (%s), want %s %q %q", res.Status, res.Details["auth"], res.Details["sqlstate"], res.Reason, c.status, c.auth, c.code)
			}
			if res.Inventory != nil || res.Product != "PostgreSQL" || res.Reason == "" {
				t.Errorf("result = %+v", res)
			}
			if c.f.conns != c.conns {
				t.Errorf("%d connections, want %d", c.f.conns, c.conns)
			}
		})
	}
}

func TestProbeMissingDatabaseFallsBack(t *testing.T) {
	f := &fake{sslAnswer: "N", startup: func(db string, _ bool) string {
		if db == "template1" || db == "shop" {
			return replyTrust
		}
		return replyNoDB
	}}
	res := runProbe(t, f)
	readOnly(t, f)
	if res.Status != gown.StatusOpen || res.Details["database"] != "template1" || res.Inventory == nil {
		t.Fatalf("result = %+v", res)
	}
}

func TestProbeTLS(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	hostssl := func(_ string, overTLS bool) string {
		if overTLS {
			return replyTrust
		}
		return replyNoEntry
	}
	cases := []struct {
		name    string
		startup func(string, bool) string
		status  gown.Status
		mode    gown.TLSMode
	}{
		{"hostssl only", hostssl, gown.StatusOpen, gown.TLSRequired},
		{"both", func(string, bool) string { return replySCRAM }, gown.StatusAuthRequired, gown.TLSOffered},
		{"refused both", func(string, bool) string { return replyNoEntry }, gown.StatusRestricted, gown.TLSOffered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fake{sslAnswer: "S", cert: cert, startup: c.startup}
			res := runProbe(t, f)
			readOnly(t, f)
			if res.Status != c.status || res.TLS.Mode != c.mode {
				t.Fatalf("status %s mode %q (%s), want %s %q", res.Status, res.TLS.Mode, res.Reason, c.status, c.mode)
			}
			if !res.TLS.SelfSigned || res.TLS.Version == "" || res.TLS.Subject != "CN=gown-test-postgres" {
				t.Errorf("tls = %+v", res.TLS)
			}
		})
	}
}

func TestProbeNotPostgres(t *testing.T) {
	for name, raw := range map[string]string{
		"http":    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
		"redis":   "-ERR unknown command\r\n",
		"N, then": "NHTTP/1.1 400 Bad Request\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			res := runProbe(t, &fake{raw: raw})
			if res.Status != gown.StatusNotService || res.Store != "" || res.Inventory != nil {
				t.Fatalf("result = %+v", res)
			}
			if res.Evidence[0].Received == "" {
				t.Errorf("evidence lacks the reply: %+v", res.Evidence)
			}
		})
	}
}

func TestProbeTLSOddities(t *testing.T) {
	scram := func(string, bool) string { return replySCRAM }
	// 'S', then a handshake that fails (the fake has no certificate): the
	// verdict comes from a plaintext startup, the TLS mode stays unknown.
	res := runProbe(t, &fake{sslAnswer: "S", startup: scram})
	if res.Status != gown.StatusAuthRequired || res.TLS.Mode != gown.TLSUnknown || res.Details["ssl"] != "S, handshake failed" || res.Error == "" {
		t.Errorf("handshake failure: %+v", res)
	}
	// A server from before SSL support answers SSLRequest with an error.
	old := msg('E', "SFATAL\x00C08P01\x00Munsupported frontend protocol 1234.5679\x00\x00")
	res = runProbe(t, &fake{sslAnswer: old, startup: scram})
	if res.TLS.Mode != gown.TLSNone || res.Details["ssl"] != "unsupported" {
		t.Errorf("old server: %+v", res)
	}
}

func TestProbeClosedAfterSSLAnswer(t *testing.T) {
	res := runProbe(t, &fake{sslAnswer: "N", startup: func(string, bool) string { return "" }})
	if res.Status != gown.StatusUnknown || res.Store != "postgres" || res.Error == "" {
		t.Errorf("result = %+v", res)
	}
}
