package testbed

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gownscan/gown"
)

// MySQL client capability flags the check's login uses: the 4.1 protocol
// with a length-prefixed auth response and a named auth plugin.
const (
	capLongPassword   = 0x00000001
	capProtocol41     = 0x00000200
	capSecureConn     = 0x00008000
	capPluginAuth     = 0x00080000
	errHostNotAllowed = 1130
	errAccessDenied   = 1045
)

// checkMariaDB dials from Source and observes the verdict the way a scan
// would: 1130 instead of a greeting is restricted; otherwise root logs in
// with an empty password (open) or is refused with 1045 (auth-required).
func (s *Server) checkMariaDB(ctx context.Context) error {
	c, err := Dialer().DialContext(ctx, "tcp", s.Addr.String())
	if err != nil {
		return fmt.Errorf("mysql dial %s from %s: %w", s.Addr, Source, err)
	}
	defer c.Close()
	defer connDeadline(ctx, c, 5*time.Second)()
	r := bufio.NewReader(c)
	greet, err := readPacket(r)
	if err != nil {
		return fmt.Errorf("mysql greeting from %s: %w", s.Addr, err)
	}
	got, err := s.loginVerdict(c, r, greet)
	if err != nil {
		return fmt.Errorf("mysql check on %s: %w", s.Addr, err)
	}
	if got != s.Want.Status {
		return fmt.Errorf("mysql check on %s from %s: server behaves as %s, want %s", s.Addr, Source, got, s.Want.Status)
	}
	return nil
}

// loginVerdict reads the greeting (or the refusal sent in its place) and
// tries root with an empty password.
func (s *Server) loginVerdict(c net.Conn, r *bufio.Reader, greet []byte) (gown.Status, error) {
	if len(greet) > 3 && greet[0] == 0xff {
		code := binary.LittleEndian.Uint16(greet[1:3])
		if code == errHostNotAllowed {
			return gown.StatusRestricted, nil
		}
		return "", fmt.Errorf("error %d instead of greeting: %q", code, greet[3:])
	}
	if len(greet) < 1 || greet[0] != 10 {
		return "", fmt.Errorf("not a protocol-10 greeting: %q", greet)
	}
	// The connection id follows the NUL-terminated version string; it is
	// remembered so GeneralLog can mark this session as the test bed's.
	ver := 1
	for ver < len(greet) && greet[ver] != 0 {
		ver++
	}
	if ver+5 > len(greet) {
		return "", errors.New("short greeting")
	}
	s.markSetup(binary.LittleEndian.Uint32(greet[ver+1:]))
	if _, err := c.Write(emptyRootLogin()); err != nil {
		return "", err
	}
	resp, err := readPacket(r)
	if err != nil {
		return "", fmt.Errorf("login reply: %w", err)
	}
	switch {
	case len(resp) > 0 && resp[0] == 0x00:
		// A login is not a read: the first planted table decides.
		st, err := s.selectFirstTable(c, r)
		c.Write([]byte{1, 0, 0, 0, 0x01}) // COM_QUIT, so the log shows a clean end
		return st, err
	case len(resp) > 3 && resp[0] == 0xff && binary.LittleEndian.Uint16(resp[1:3]) == errAccessDenied:
		return gown.StatusAuthRequired, nil
	}
	return "", fmt.Errorf("unexpected login reply %q", resp)
}

// emptyRootLogin is a HandshakeResponse41 for root with no password, the
// login an unauthenticated scan tries.
func emptyRootLogin() []byte {
	var p []byte
	p = binary.LittleEndian.AppendUint32(p, capLongPassword|capProtocol41|capSecureConn|capPluginAuth)
	p = binary.LittleEndian.AppendUint32(p, 1<<24) // max packet
	p = append(p, 33)                              // utf8_general_ci
	p = append(p, make([]byte, 23)...)
	p = append(p, "root\x00"...)
	p = append(p, 0) // empty auth response
	p = append(p, "mysql_native_password\x00"...)
	hdr := []byte{byte(len(p)), byte(len(p) >> 8), byte(len(p) >> 16), 1}
	return append(hdr, p...)
}

// readPacket reads one MySQL packet's payload.
func readPacket(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, err
}

// markSetup records a connection id as opened by the test bed.
func (s *Server) markSetup(id uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.setupIDs == nil {
		s.setupIDs = map[uint32]bool{}
	}
	s.setupIDs[id] = true
}

func (s *Server) isSetup(id uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setupIDs[id]
}

// selectFirstTable reads one row of the configuration's first planted table
// over a logged-in session: a resultset means open, an ERR restricted.
func (s *Server) selectFirstTable(c net.Conn, r *bufio.Reader) (gown.Status, error) {
	var tb plantTable
	for _, v := range mariadbVariants() {
		if v.name == s.Name && len(v.tables) > 0 {
			tb = v.tables[0]
		}
	}
	if tb.name == "" {
		return gown.StatusOpen, nil
	}
	q := append([]byte{0x03}, "SELECT 1 FROM `"+tb.schema+"`.`"+tb.name+"` LIMIT 1"...)
	pkt := append([]byte{byte(len(q)), byte(len(q) >> 8), byte(len(q) >> 16), 0}, q...)
	if _, err := c.Write(pkt); err != nil {
		return "", err
	}
	resp, err := readPacket(r)
	if err != nil {
		return "", fmt.Errorf("select reply: %w", err)
	}
	if len(resp) > 0 && resp[0] == 0xff {
		return gown.StatusRestricted, nil
	}
	return gown.StatusOpen, nil
}
