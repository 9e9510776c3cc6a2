package testbed

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// holdsListener reports whether process pid has a listening TCP socket on
// addr (or on a wildcard address with addr's port). It is the proof of
// ownership every launch needs besides its server's own sign: a server
// that logs "listening" before its bind has failed (node's listen is
// asynchronous) would otherwise be taken as ready while another test
// server, which won the race for the free port, answers the connects.
//
// The kernel's socket table is read from /proc: the listening sockets on
// addr's port from /proc/net/tcp{,6}, then the process's descriptors. The
// test bed's servers all listen in the process the bed started (nginx and
// postgres keep the listener in their master), so its own descriptors
// suffice.
func holdsListener(pid int, addr netip.AddrPort) bool {
	inodes := listeningInodes(addr)
	if len(inodes) == 0 {
		return false
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true
		}
	}
	return false
}

// tcpListen is the state /proc/net/tcp prints for a listening socket.
const tcpListen = "0A"

// listeningInodes returns the inodes of the TCP sockets listening on addr,
// or on the wildcard address with its port. An IPv4 address is looked for
// in the IPv6 table too, mapped: a JVM listens on a dual-stack socket.
func listeningInodes(addr netip.AddrPort) map[string]bool {
	ip, port := addr.Addr().Unmap(), addr.Port()
	want := map[string]bool{
		procAddr(netip.AddrPortFrom(ip, port)):                      true,
		procAddr(netip.AddrPortFrom(netip.IPv6Unspecified(), port)): true,
	}
	tables := []string{"/proc/net/tcp6"}
	if ip.Is4() {
		tables = append(tables, "/proc/net/tcp")
		want[procAddr(netip.AddrPortFrom(netip.IPv4Unspecified(), port))] = true
		want[procAddr(netip.AddrPortFrom(netip.AddrFrom16(ip.As16()), port))] = true
	}
	inodes := map[string]bool{}
	for _, table := range tables {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
			fields := strings.Fields(sc.Text())
			if len(fields) >= 10 && fields[3] == tcpListen && want[fields[1]] {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	return inodes
}

// procAddr writes addr as /proc/net/tcp prints it: the address as the
// kernel's 32-bit words in the machine's byte order, each as %08X, then a
// colon and the port as %04X.
func procAddr(addr netip.AddrPort) string {
	var b strings.Builder
	ip := addr.Addr().AsSlice()
	for i := 0; i < len(ip); i += 4 {
		fmt.Fprintf(&b, "%08X", binary.NativeEndian.Uint32(ip[i:i+4]))
	}
	fmt.Fprintf(&b, ":%04X", addr.Port())
	return b.String()
}
