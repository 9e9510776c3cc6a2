package probe

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// kernelRTT is the kernel's round-trip estimate of a connection just made
// (TCP_INFO's tcpi_rtt, measured on the handshake), or false when it has
// none. It is the network's distance alone: the connect's own duration also
// holds the scanner's scheduling, which under a storm of connects on a
// loaded machine grows to tens of milliseconds where the wire takes
// microseconds, and would stretch every deadline drawn from it.
func kernelRTT(c *Conn) (time.Duration, bool) {
	tc, ok := c.raw.(*net.TCPConn)
	if !ok {
		return 0, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	var ierr error
	if err := raw.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || ierr != nil || info == nil || info.Rtt == 0 {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, true
}
