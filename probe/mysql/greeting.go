package mysql

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gownscan/gown"
)

// Capability flags gown reads in the greeting or sets in its reply.
const (
	clientLongPassword     = 0x00000001
	clientConnectWithDB    = 0x00000008
	clientProtocol41       = 0x00000200
	clientSSL              = 0x00000800
	clientTransactions     = 0x00002000
	clientSecureConnection = 0x00008000
	clientPluginAuth       = 0x00080000
	clientDeprecateEOF     = 0x01000000
)

// maxGreeting caps the first packet. A real greeting or pre-handshake ERR is a
// hundred bytes or so; a bigger announced length is what HTTP, SSH or SMTP
// banners look like when read as a MySQL header ("HTT" = 5 MB), so it marks
// the peer as something else rather than as a reply too large.
const maxGreeting = 1024

// greeting is the server's Protocol::HandshakeV10 packet.
type greeting struct {
	Protocol   byte
	Version    string // as sent, with MariaDB's "5.5.5-" prefix
	ConnID     uint32
	Scramble   []byte // both auth-plugin-data parts, without the trailing NUL
	Caps       uint32
	Charset    byte
	Status     uint16
	AuthPlugin string // empty when the server lacks CLIENT_PLUGIN_AUTH
}

// product names what answered: MariaDB says so in its version string.
func (g *greeting) product() string {
	if strings.Contains(strings.ToLower(g.Version), "mariadb") {
		return "MariaDB"
	}
	return "MySQL"
}

// version drops the "5.5.5-" that MariaDB 10+ puts before its real version so
// that old MySQL clients, which parse the leading number, accept it.
func (g *greeting) version() string {
	if rest, ok := strings.CutPrefix(g.Version, "5.5.5-"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return rest
	}
	return g.Version
}

// plugin is the auth plugin to answer with: the greeting's, or the one every
// server without CLIENT_PLUGIN_AUTH uses.
func (g *greeting) plugin() string {
	if g.AuthPlugin == "" {
		return "mysql_native_password"
	}
	return g.AuthPlugin
}

// errNotMySQL wraps gown.ErrNotService with what gave the peer away.
func errNotMySQL(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), gown.ErrNotService)
}

// readGreeting reads the first packet: a greeting, or an ERR packet the
// server sends instead (host not allowed, too many connections). A reply that
// is neither fails with gown.ErrNotService; a silent or closed peer returns
// the transport error, since nothing answered that could be judged.
func readGreeting(r io.Reader) (*greeting, *serverError, error) {
	seq, p, err := readPacket(r, maxGreeting)
	switch {
	case errors.Is(err, gown.ErrReplyTooLarge):
		return nil, nil, errNotMySQL("first packet announces more than a greeting holds")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, nil, errNotMySQL("first reply shorter than its header says")
	case err != nil:
		return nil, nil, err
	case seq != 0:
		return nil, nil, errNotMySQL("first packet has sequence id %d", seq)
	case len(p) == 0:
		return nil, nil, errNotMySQL("empty first packet")
	case p[0] == hdrERR:
		e, err := parseGreetingErr(p)
		return nil, e, err
	}
	g, err := parseGreeting(p)
	return g, nil, err
}

// parseGreetingErr accepts an ERR packet as MySQL's only if it looks like
// one: a known error range and a readable message.
func parseGreetingErr(p []byte) (*serverError, error) {
	e, err := parseErr(p)
	if err != nil || e.Code < 1000 || e.Code >= 20000 || len(p) < 8 || !textual(p[3:]) {
		return nil, errNotMySQL("first packet is an ERR packet no MySQL server sends")
	}
	return e, nil
}

// parseGreeting decodes a Protocol::HandshakeV10 payload. It is strict about
// the fields every server since MySQL 4.1 sends, so that other protocols'
// bytes are not taken for a greeting.
func parseGreeting(p []byte) (*greeting, error) {
	if p[0] != 10 {
		return nil, errNotMySQL("protocol version %d, want 10", p[0])
	}
	g := &greeting{Protocol: p[0]}
	end := bytes.IndexByte(p[1:], 0)
	if end < 1 || end > 100 || !plausibleVersion(p[1:1+end]) {
		return nil, errNotMySQL("no server version string")
	}
	g.Version = string(p[1 : 1+end])
	rest := p[2+end:]
	// connection id (4), scramble part 1 (8), filler (1), capabilities (2)
	if len(rest) < 15 || rest[12] != 0 {
		return nil, errNotMySQL("greeting too short or malformed after the version")
	}
	g.ConnID = binary.LittleEndian.Uint32(rest)
	g.Scramble = append([]byte(nil), rest[4:12]...)
	g.Caps = uint32(binary.LittleEndian.Uint16(rest[13:15]))
	rest = rest[15:]
	if len(rest) == 0 {
		return g, nil // pre-4.1 servers may stop here
	}
	if err := parseGreetingTail(g, rest); err != nil {
		return nil, err
	}
	return g, nil
}

// parseGreetingTail decodes what follows the lower capability flags: charset,
// status, upper flags, the second scramble part and the auth plugin name.
func parseGreetingTail(g *greeting, rest []byte) error {
	// charset (1), status (2), upper capabilities (2), auth data length (1),
	// reserved (10; MariaDB keeps its extended capabilities in the last 4)
	if len(rest) < 16 {
		return errNotMySQL("greeting cut short in the capability block")
	}
	g.Charset = rest[0]
	g.Status = binary.LittleEndian.Uint16(rest[1:3])
	g.Caps |= uint32(binary.LittleEndian.Uint16(rest[3:5])) << 16
	authLen := int(rest[5])
	rest = rest[16:]
	if g.Caps&clientSecureConnection != 0 {
		n := max(13, authLen-8)
		if n > len(rest) {
			return errNotMySQL("greeting cut short in the scramble")
		}
		// The part ends in a NUL that is not part of the scramble.
		g.Scramble = append(g.Scramble, bytes.TrimRight(rest[:n], "\x00")...)
		rest = rest[n:]
	}
	if g.Caps&clientPluginAuth != 0 {
		// MySQL 5.5.7-5.5.9 left out the terminating NUL: read to the end.
		name, _, _ := bytes.Cut(rest, []byte{0})
		if len(name) > 64 || !printable(name) {
			return errNotMySQL("unreadable auth plugin name")
		}
		g.AuthPlugin = string(name)
	}
	return nil
}

// plausibleVersion accepts what MySQL, MariaDB, Percona and their forks send:
// a leading digit, a dot, printable ASCII.
func plausibleVersion(v []byte) bool {
	return len(v) >= 3 && v[0] >= '0' && v[0] <= '9' && bytes.IndexByte(v, '.') > 0 && printable(v)
}

// textual accepts server messages, which may be localised: valid UTF-8
// without control characters.
func textual(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7F {
			return false
		}
	}
	return true
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7F {
			return false
		}
	}
	return true
}
