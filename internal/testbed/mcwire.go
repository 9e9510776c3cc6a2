package testbed

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// The test bed's memcached sessions mark themselves for the -vv log, which
// names connections by file descriptor only: a text session reads
// mcSetupKey first (after authenticating: refused commands are not logged),
// and every binary request carries mcSetupOpaque.
const (
	mcSetupKey    = "gown-testbed-setup"
	mcSetupOpaque = "gtbd"
)

// Binary protocol opcodes and status the test bed uses.
const (
	mcOpSet       = 0x01
	mcOpStat      = 0x10
	mcOpSASLAuth  = 0x21
	mcStatusAuth  = 0x20 // authentication required / failed
	mcMagicReq    = 0x80
	mcMagicResp   = 0x81
	mcHeaderBytes = 24
)

// mcDial opens a connection to the server, from Source when asScan is set.
func (s *Server) mcDial(ctx context.Context, asScan bool) (net.Conn, *bufio.Reader, func(), error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if asScan {
		d = Dialer()
	}
	c, err := d.DialContext(ctx, "tcp", s.Addr.String())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("memcached dial %s: %w", s.Addr, err)
	}
	undo := connDeadline(ctx, c, 5*time.Second)
	return c, bufio.NewReader(c), func() { undo(); c.Close() }, nil
}

// plantMemcachedText writes the key/value pairs over the text protocol,
// authenticating first for -Y, and reads curr_items back.
func (s *Server) plantMemcachedText(ctx context.Context, kv [][2]string) error {
	n := len(kv)
	c, r, done, err := s.mcDial(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	var b strings.Builder
	if s.Password != "" {
		// -Y takes the credentials as the data of any set.
		cred := s.User + " " + s.Password
		fmt.Fprintf(&b, "set %s 0 0 %d\r\n%s\r\n", mcSetupKey, len(cred), cred)
	}
	fmt.Fprintf(&b, "get %s\r\n", mcSetupKey)
	for _, x := range kv {
		fmt.Fprintf(&b, "set %s 0 0 %d\r\n%s\r\n", x[0], len(x[1]), x[1])
	}
	b.WriteString("stats\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		return fmt.Errorf("memcached plant on %s: %w", s.Addr, err)
	}
	want := "END" + strings.Repeat("STORED", n)
	if s.Password != "" {
		want = "STORED" + want
	}
	var got strings.Builder
	for got.Len() < len(want) {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("memcached plant on %s: %w (after %q)", s.Addr, err, got.String())
		}
		got.WriteString(strings.TrimRight(line, "\r\n"))
	}
	if got.String() != want {
		return fmt.Errorf("memcached plant on %s: answers %q", s.Addr, got.String())
	}
	stats, err := readTextStats(r)
	if err != nil {
		return fmt.Errorf("memcached stats on %s: %w", s.Addr, err)
	}
	if stats["curr_items"] != strconv.Itoa(n) {
		return fmt.Errorf("memcached %s holds %s items, planted %d", s.Name, stats["curr_items"], n)
	}
	return nil
}

// mcKeys returns the first n planted keys with their values.
func mcKeys(n int) [][2]string {
	out := make([][2]string, n)
	for i := range out {
		k, v := mcKey(i)
		out[i] = [2]string{k, v}
	}
	return out
}

// mcKey returns planted key i and its value.
func mcKey(i int) (string, string) {
	id := strconv.Itoa(i)
	return "session:" + id, "token-" + id + "-user" + id + "@example.com"
}

// readTextStats reads STAT lines up to END.
func readTextStats(r *bufio.Reader) (map[string]string, error) {
	out := map[string]string{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "END" {
			return out, nil
		}
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 || f[0] != "STAT" {
			return nil, fmt.Errorf("not a STAT line: %q", line)
		}
		out[f[1]] = f[2]
	}
}

// mcRequest builds a binary request carrying the setup opaque.
func mcRequest(op byte, key string, extras []byte, value string) []byte {
	h := make([]byte, mcHeaderBytes, mcHeaderBytes+len(extras)+len(key)+len(value))
	h[0], h[1] = mcMagicReq, op
	binary.BigEndian.PutUint16(h[2:], uint16(len(key)))
	h[4] = byte(len(extras))
	binary.BigEndian.PutUint32(h[8:], uint32(len(extras)+len(key)+len(value)))
	copy(h[12:16], mcSetupOpaque)
	h = append(h, extras...)
	h = append(h, key...)
	return append(h, value...)
}

// mcResponse is one binary response.
type mcResponse struct {
	op         byte
	status     uint16
	key, value string
}

func readMCResponse(r io.Reader) (mcResponse, error) {
	var h [mcHeaderBytes]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return mcResponse{}, err
	}
	if h[0] != mcMagicResp {
		return mcResponse{}, fmt.Errorf("bad response magic %#x", h[0])
	}
	keyLen, extLen := int(binary.BigEndian.Uint16(h[2:])), int(h[4])
	body := make([]byte, binary.BigEndian.Uint32(h[8:]))
	if len(body) < keyLen+extLen {
		return mcResponse{}, fmt.Errorf("response body of %d bytes holds no %d-byte key", len(body), keyLen)
	}
	if _, err := io.ReadFull(r, body); err != nil {
		return mcResponse{}, err
	}
	return mcResponse{op: h[1], status: binary.BigEndian.Uint16(h[6:]),
		key: string(body[extLen : extLen+keyLen]), value: string(body[extLen+keyLen:])}, nil
}

// plantMemcachedBinary authenticates with SASL PLAIN, writes n keys and
// reads curr_items back, all in the binary protocol -S requires.
func (s *Server) plantMemcachedBinary(ctx context.Context, n int) error {
	c, r, done, err := s.mcDial(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	reqs := mcRequest(mcOpSASLAuth, "PLAIN", nil, "\x00"+s.User+"\x00"+s.Password)
	for i := range n {
		k, v := mcKey(i)
		reqs = append(reqs, mcRequest(mcOpSet, k, make([]byte, 8), v)...) // flags 0, no expiry
	}
	reqs = append(reqs, mcRequest(mcOpStat, "", nil, "")...)
	if _, err := c.Write(reqs); err != nil {
		return fmt.Errorf("memcached plant on %s: %w", s.Addr, err)
	}
	for i := 0; i <= n; i++ {
		resp, err := readMCResponse(r)
		if err != nil || resp.status != 0 {
			return fmt.Errorf("memcached plant on %s: answer %d: status %#x %q, %v", s.Addr, i, resp.status, resp.value, err)
		}
	}
	items := ""
	for {
		resp, err := readMCResponse(r)
		if err != nil {
			return fmt.Errorf("memcached stat on %s: %w", s.Addr, err)
		}
		if resp.key == "" {
			break
		}
		if resp.key == "curr_items" {
			items = resp.value
		}
	}
	if items != strconv.Itoa(n) {
		return fmt.Errorf("memcached %s holds %q items, planted %d", s.Name, items, n)
	}
	return nil
}

// checkMemcached asks from Source as a scan would: text stats answered
// (open, and by our own process: STAT pid), refused with CLIENT_ERROR
// unauthenticated (-Y), or a binary stat refused with an auth error (-S).
func (s *Server) checkMemcached(ctx context.Context) error {
	v, err := memcachedVariantOf(s)
	if err != nil {
		return err
	}
	c, r, done, err := s.mcDial(ctx, true)
	if err != nil {
		return err
	}
	defer done()
	var got gown.Status
	switch v.auth {
	case mcSASL:
		if _, err := c.Write(mcRequest(mcOpStat, "", nil, "")); err != nil {
			return fmt.Errorf("memcached stat on %s: %w", s.Addr, err)
		}
		resp, err := readMCResponse(r)
		if err != nil {
			return fmt.Errorf("memcached stat on %s: %w", s.Addr, err)
		}
		if resp.status == mcStatusAuth {
			got = gown.StatusAuthRequired
		}
	default:
		if got, err = s.checkMemcachedText(c, r); err != nil {
			return err
		}
	}
	if got != s.Want.Status {
		return fmt.Errorf("memcached check on %s from %s: server behaves as %q, want %s", s.Addr, Source, got, s.Want.Status)
	}
	return nil
}

// checkMemcachedText sends the setup read and stats over text.
func (s *Server) checkMemcachedText(c net.Conn, r *bufio.Reader) (gown.Status, error) {
	if _, err := io.WriteString(c, "get "+mcSetupKey+"\r\nstats\r\n"); err != nil {
		return "", fmt.Errorf("memcached stats on %s: %w", s.Addr, err)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("memcached stats on %s: %w", s.Addr, err)
	}
	switch line {
	case "CLIENT_ERROR unauthenticated\r\n":
		return gown.StatusAuthRequired, nil
	case "END\r\n":
	default:
		return "", fmt.Errorf("memcached get on %s: %q", s.Addr, line)
	}
	stats, err := readTextStats(r)
	if err != nil {
		return "", fmt.Errorf("memcached stats on %s: %w", s.Addr, err)
	}
	if stats["pid"] != strconv.Itoa(s.proc.pid()) {
		return "", fmt.Errorf("memcached on %s is pid %s, not ours (%d)", s.Addr, stats["pid"], s.proc.pid())
	}
	return gown.StatusOpen, nil
}
