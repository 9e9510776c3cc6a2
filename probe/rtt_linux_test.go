package probe

import (
	"testing"
	"time"
)

// TestKernelRTTOnLoopback: the kernel's round trip of a loopback connect is
// read, and is what the wire took (well under a millisecond on loopback,
// allowed up to 20 ms on a loaded machine), not the scheduling around it.
func TestKernelRTTOnLoopback(t *testing.T) {
	srv := listen(t, tarpit)
	d, err := NewDialer(DialerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Dial(t.Context(), tgt(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rtt, ok := kernelRTT(c)
	if !ok || rtt <= 0 || rtt > 20*time.Millisecond {
		t.Fatalf("kernelRTT = %s, %v", rtt, ok)
	}
	t.Logf("loopback handshake RTT %s", rtt)
}
