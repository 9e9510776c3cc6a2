package mysql

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

var appRows = [][3]string{
	{"appdb", "49152", "8"},
	{"information_schema", "212992", ""},
	{"mysql", "3809280", "3787"},
}

func TestProbeReplayed(t *testing.T) {
	denied := errPayload(erAccessDenied, "28000", "Access denied for user 'root'@'127.0.0.1' (using password: NO)")
	cases := []struct {
		name   string
		hs     []handler
		status gown.Status
		login  string
		reason string
		tls    gown.TLSMode
	}{
		{"open", []handler{serveLogin(capsMariaDB, "root", okPayload(), appRows...)},
			gown.StatusOpen, "root with empty password", "login as root", gown.TLSNone},
		{"open-eof", []handler{serveLogin(capsNoDepr, "root", okPayload(), appRows...)},
			gown.StatusOpen, "root with empty password", "login as root", gown.TLSNone},
		{"anonymous", []handler{serveLogin(capsMariaDB, "root", denied), serveLogin(capsMariaDB, "", okPayload(), appRows...)},
			gown.StatusOpen, "anonymous", "login as anonymous", gown.TLSNone},
		{"anonymous-no-data", []handler{serveLogin(capsMariaDB, "root", denied),
			serveLogin(capsMariaDB, "", okPayload(), [3]string{"information_schema", "0", ""})},
			gown.StatusRestricted, "anonymous", "names no table to read", gown.TLSNone},
		{"password", []handler{serveLogin(capsMariaDB, "root", denied), serveLogin(capsMariaDB, "", denied)},
			gown.StatusAuthRequired, "", "root and anonymous refused with empty password (1045)", gown.TLSNone},
		{"host-not-allowed", []handler{sendOnly(errPayload(erHostNotAllowed, "", "Host '127.0.0.1' is not allowed to connect to this MariaDB server"))},
			gown.StatusRestricted, "", "(1130)", ""},
		{"host-blocked", []handler{sendOnly(errPayload(erHostBlocked, "", "Host '127.0.0.1' is blocked because of many connection errors"))},
			gown.StatusRestricted, "", "max_connect_errors", ""},
		{"too-many", []handler{sendOnly(errPayload(erTooManyConnections, "", "Too many connections"))},
			gown.StatusUnknown, "", "too many connections", ""},
		{"host-not-allowed-at-login", []handler{serveLogin(capsMariaDB, "root", errPayload(erHostNotAllowed, "HY000", "Host not allowed"))},
			gown.StatusRestricted, "", "(1130)", gown.TLSNone},
		{"auth-switch", []handler{serveAuthSwitch}, gown.StatusOpen, "root with empty password", "", gown.TLSNone},
		{"dialog-prompt", []handler{serveDialog}, gown.StatusAuthRequired, "", "more than an empty password", gown.TLSNone},
		{"tls-offered", []handler{serveLogin(capsSSL, "root", okPayload(), appRows...), serveTLS(false)},
			gown.StatusOpen, "root with empty password", "", gown.TLSOffered},
		{"tls-required", []handler{serveLogin(capsSSL, "root", errPayload(erSecureTransport, "08004", "Connections using insecure transport are prohibited")), serveTLS(true)},
			gown.StatusOpen, "root with empty password", "", gown.TLSRequired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := probeAt(t, replay(t, c.hs...))
			if err != nil || r == nil {
				t.Fatalf("Probe = %v, %v", r, err)
			}
			if r.Status != c.status || !strings.Contains(r.Reason, c.reason) || r.Details["login"] != c.login {
				t.Errorf("got %s %q login %q, want %s %q login %q (error %q)", r.Status, r.Reason, r.Details["login"], c.status, c.reason, c.login, r.Error)
			}
			if r.TLS.Mode != c.tls {
				t.Errorf("tls mode %q, want %q", r.TLS.Mode, c.tls)
			}
			if len(r.Evidence) == 0 || r.Evidence[0].Step != "greeting" {
				t.Errorf("evidence = %+v, want the greeting first", r.Evidence)
			}
			if c.login != "" && c.status == gown.StatusOpen {
				checkReplayedInventory(t, r)
			}
		})
	}
}

func checkReplayedInventory(t *testing.T, r *gown.Result) {
	t.Helper()
	inv := r.Inventory
	if inv == nil || len(inv.Databases) != 3 || inv.Items != 8 || inv.Bytes != 49152 || !inv.Databases[2].System {
		t.Errorf("inventory = %+v", inv)
	}
	wantProduct, wantVersion := "MariaDB", "10.11.19-MariaDB-0+deb12u1"
	if r.Details["auth_plugin"] == pluginCachingSHA2 {
		wantProduct, wantVersion = "MySQL", "8.0.36"
	}
	if r.Product != wantProduct || r.Version != wantVersion {
		t.Errorf("product %q version %q, want %q %q", r.Product, r.Version, wantProduct, wantVersion)
	}
}

// TestProbeReads: a login is not a read. An account that names tables but
// may not SELECT them (INSERT alone) is restricted; an anonymous account
// that answers a login as root and may SELECT is open, and is not root.
func TestProbeReads(t *testing.T) {
	login := func(account string, allowed bool) handler {
		return func(t *testing.T, c net.Conn) {
			send(t, c, 0, greetingPayload("5.5.5-10.11.19-MariaDB-0+deb12u1", "mysql_native_password", capsMariaDB))
			recv(t, c, 1)
			send(t, c, 2, okPayload())
			recv(t, c, 0)
			for i, p := range resultSetPackets(true, [3]string{"app", "16384", "12"}, [3]string{"information_schema", "0", ""}) {
				send(t, c, byte(i+1), p)
			}
			tables := [][]string{{account, "app", "orders"}, {account, "app", "users"}}
			serveReads(t, c, true, tables, allowed)
			if p := recv(t, c, 0); !bytes.Equal(p, []byte{0x01}) {
				t.Errorf("after the reads client sent %q, want COM_QUIT", p)
			}
		}
	}
	cases := []struct {
		name   string
		h      handler
		status gown.Status
		login  string
		reason string
		admin  bool
	}{
		{"insert-only", login("@%", false), gown.StatusRestricted, "root with empty password, as the account @%",
			"SELECT is refused on each of the 2 tables it names (1142)", false},
		{"select-as-anonymous", login("@%", true), gown.StatusOpen, "root with empty password, as the account @%",
			"SELECT reads its tables", false},
		{"root", login("root@%", true), gown.StatusOpen, "root with empty password", "SELECT reads its tables", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := probeAt(t, replay(t, c.h))
			if err != nil || r == nil {
				t.Fatalf("Probe = %v, %v", r, err)
			}
			if r.Status != c.status || !strings.Contains(r.Reason, c.reason) || r.Details["login"] != c.login || (r.Facts.Admin != "") != c.admin {
				t.Errorf("got %s %q login %q admin %q, want %s %q login %q admin %v", r.Status, r.Reason, r.Details["login"], r.Facts.Admin,
					c.status, c.reason, c.login, c.admin)
			}
			if r.Inventory == nil || r.Inventory.Items != 12 {
				t.Errorf("inventory %+v", r.Inventory)
			}
		})
	}
}

func sendOnly(payload []byte) handler {
	return func(t *testing.T, c net.Conn) { send(t, c, 0, payload); readAll(c) }
}

// serveAuthSwitch greets with caching_sha2_password for the account, then
// switches the client to mysql_native_password, as MySQL 8 does for an
// account that still uses the old plugin.
func serveAuthSwitch(t *testing.T, c net.Conn) {
	send(t, c, 0, greetingPayload("8.0.36", pluginCachingSHA2, capsMariaDB))
	h := parseHandshake(t, recv(t, c, 1))
	if h.plugin != pluginCachingSHA2 || string(h.auth) != "\x00" {
		t.Errorf("handshake = %+v, want caching_sha2_password with the one-NUL empty password", h)
	}
	send(t, c, 2, []byte("\xfemysql_native_password\x00abcdefghijklmnopqrst\x00"))
	if p := recv(t, c, 3); len(p) != 0 {
		t.Errorf("auth switch response = %q, want empty", p)
	}
	send(t, c, 4, okPayload())
	serveInventory(t, c, true, appRows...)
}

// serveDialog switches the client to MariaDB's PAM "dialog" plugin, which
// prompts again when the answer is empty.
func serveDialog(t *testing.T, c net.Conn) {
	send(t, c, 0, greetingPayload("5.5.5-10.11.19-MariaDB", "mysql_native_password", capsMariaDB))
	recv(t, c, 1)
	send(t, c, 2, []byte("\xfedialog\x00\x04Password: "))
	recv(t, c, 3)
	send(t, c, 4, []byte("\x04Password: "))
	readAll(c)
}

// serveTLS answers SSLRequest with a TLS handshake, then the login over TLS.
func serveTLS(inventory bool) handler {
	return func(t *testing.T, c net.Conn) {
		send(t, c, 0, greetingPayload("8.0.36", "mysql_native_password", capsSSL))
		if p := recv(t, c, 1); len(p) != 32 || p[1]&(clientSSL>>8) == 0 {
			t.Errorf("SSLRequest = %x", p)
			return
		}
		dir := t.TempDir()
		certFile, keyFile := writeCert(t, dir)
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Error(err)
			return
		}
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err := tc.Handshake(); err != nil {
			t.Errorf("tls handshake: %v", err)
			return
		}
		h := parseHandshake(t, recv(t, tc, 2))
		if h.caps&clientSSL == 0 || h.user != "root" {
			t.Errorf("handshake over TLS = %+v", h)
		}
		send(t, tc, 3, okPayload())
		if inventory {
			serveInventory(t, tc, true, appRows...)
		} else if p := recv(t, tc, 0); string(p) != "\x01" {
			t.Errorf("after the TLS login client sent %q, want COM_QUIT", p)
		}
	}
}

func TestProbeNotService(t *testing.T) {
	cases := map[string][]byte{
		"http":    []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
		"ssh":     []byte("SSH-2.0-OpenSSH_9.2p1\r\n"),
		"garbage": {0x05, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE},
		"bad-seq": appendPacket(nil, 3, greetingPayload("8.0.36", "mysql_native_password", capsMariaDB)),
		"err-bin": appendPacket(nil, 0, []byte{0xFF, 0x10, 0x27, 0x00, 0x01, 0x02, 0x03, 0x04}),
	}
	for name, reply := range cases {
		t.Run(name, func(t *testing.T) {
			port := replay(t, func(t *testing.T, c net.Conn) { c.Write(reply); readAll(c) })
			r, err := probeAt(t, port)
			if !errors.Is(err, gown.ErrNotService) || r == nil || r.Status != gown.StatusNotService {
				t.Fatalf("Probe = %+v, %v; want not-service", r, err)
			}
		})
	}
}

// A silent port (Redis, HTTP: client-first protocols) is not judged: the
// probe returns an error and no result.
func TestProbeSilent(t *testing.T) {
	port := replay(t, func(t *testing.T, c net.Conn) { readAll(c) })
	r, err := probeAt(t, port)
	if r != nil || err == nil {
		t.Fatalf("Probe = %+v, %v; want nil and a timeout", r, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
}

// A reply too large after the greeting leaves MySQL identified but the login
// undecided.
func TestProbeOversizedLoginReply(t *testing.T) {
	port := replay(t, func(t *testing.T, c net.Conn) {
		send(t, c, 0, greetingPayload("8.0.36", "mysql_native_password", capsMariaDB))
		recv(t, c, 1)
		c.Write([]byte{0xFF, 0xFF, 0xFF, 2})
		readAll(c)
	})
	r, err := probeAt(t, port)
	if err != nil || r == nil || r.Status != gown.StatusUnknown || r.Product != "MySQL" || !strings.Contains(r.Error, "exceeds the read cap") {
		t.Fatalf("Probe = %+v, %v", r, err)
	}
}

// The inventory query refused (no SELECT on information_schema views is
// impossible, but a proxy may refuse it) keeps the open verdict.
func TestProbeInventoryRefused(t *testing.T) {
	port := replay(t, func(t *testing.T, c net.Conn) {
		send(t, c, 0, greetingPayload("8.0.36", "mysql_native_password", capsMariaDB))
		recv(t, c, 1)
		send(t, c, 2, okPayload())
		recv(t, c, 0)
		send(t, c, 1, errPayload(1142, "42000", "SELECT command denied"))
		recv(t, c, 0)
	})
	r, err := probeAt(t, port)
	if err != nil || r.Status != gown.StatusOpen || r.Inventory != nil || !strings.Contains(r.Error, "1142") {
		t.Fatalf("Probe = %+v, %v", r, err)
	}
}
