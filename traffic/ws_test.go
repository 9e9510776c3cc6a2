package traffic

import (
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"golang.org/x/net/websocket"
)

// TestCaptureWebSocket records a real WebSocket exchange on loopback
// (golang.org/x/net/websocket on both ends, an app's chat in clear text):
// after the upgrade, the masked client frames and the server's frames are
// read, and the personal data in them is found.
func TestCaptureWebSocket(t *testing.T) {
	srv := httptest.NewServer(websocket.Handler(func(c *websocket.Conn) {
		var msg string
		for websocket.Message.Receive(c, &msg) == nil {
			websocket.Message.Send(c, `{"from":"support","to":"amelia.hartmann@mail.example.test","text":"call +49 151 23456789"}`)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	c := testbed.RecordLoopback(t, "tcp port "+port)
	ws, err := websocket.Dial("ws://"+srv.Listener.Addr().String()+"/chat", "", "http://app.example/")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := websocket.Message.Send(ws, `{"email":"r.okonkwo@inbox.example.test","phone":"+1 415 555 0134","card":"5555555555554444"}`); err != nil {
			t.Fatal(err)
		}
		var reply string
		if err := websocket.Message.Receive(ws, &reply); err != nil {
			t.Fatal(err)
		}
	}
	ws.Close()
	path := c.Stop()
	a, _ := New(Config{})
	if err := a.ReadFile(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	if len(rep.Backends) != 1 {
		t.Fatalf("backends %+v", rep.Backends)
	}
	b := rep.Backends[0]
	t.Logf("%s cleartext=%v urls=%v classes=%+v", b.label(), b.Cleartext, b.URLs, b.Classes)
	cls := sensitive(b)
	for _, want := range []string{"email", "phone", "payment-card"} {
		if !slices.Contains(cls, want) {
			t.Errorf("classes %v lack %s", cls, want)
		}
	}
	for _, cc := range b.Classes {
		if cc.Class == "email" && cc.Records != 6 {
			t.Errorf("email in %d records, want 6 (3 messages each way)", cc.Records)
		}
	}
	if !slices.ContainsFunc(b.URLs, func(u string) bool { return strings.HasSuffix(u, "/chat") }) {
		t.Errorf("urls %v", b.URLs)
	}
}
