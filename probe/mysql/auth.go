package mysql

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Auth plugins whose empty-password answer is not an empty packet.
const (
	pluginCachingSHA2 = "caching_sha2_password"
	pluginSHA256      = "sha256_password"
	pluginClearText   = "mysql_clear_password"
)

// AuthMoreData status bytes of caching_sha2_password.
const (
	fastAuthSuccess  = 0x03
	performFullAuth  = 0x04
	maxAuthExchanges = 6 // switch, more data, full auth... a loop past this is hostile
)

// charsetUTF8MB4 is utf8mb4_general_ci, which MySQL 5.5+ and MariaDB know.
const charsetUTF8MB4 = 45

// errMoreThanEmpty means the server's auth plugin asked for something an empty
// password cannot give (a dialog prompt, an RSA key exchange): the account
// wants a credential.
var errMoreThanEmpty = errors.New("server asks for more than an empty password")

// session is one connection in the MySQL protocol: packets in order, with
// sequence ids checked.
type session struct {
	c     *probe.Conn
	br    *bufio.Reader
	seq   byte
	greet *greeting
	tls   bool
}

func newSession(c *probe.Conn) *session {
	return &session{c: c, br: bufio.NewReaderSize(c, 4096)}
}

// read reads the next packet of the exchange. The bufio reader never reads
// past the server's reply: MySQL servers only speak when spoken to.
func (s *session) read(limit int) ([]byte, error) {
	seq, p, err := readPacket(s.br, limit)
	if err != nil {
		return nil, err
	}
	if seq != s.seq {
		return nil, fmt.Errorf("sequence id %d, want %d: %w", seq, s.seq, gown.ErrProtocol)
	}
	s.seq++
	return p, nil
}

func (s *session) write(payload []byte) error {
	_, err := s.c.Write(appendPacket(nil, s.seq, payload))
	s.seq++
	return err
}

// clientCaps are the flags gown sends: what it needs and the server offers.
// CLIENT_CONNECT_WITH_DB is never set: no database is named at login.
func (s *session) clientCaps() uint32 {
	want := uint32(clientLongPassword | clientProtocol41 | clientTransactions |
		clientSecureConnection | clientPluginAuth | clientDeprecateEOF)
	caps := want & s.greet.Caps
	if s.tls {
		caps |= clientSSL
	}
	return caps &^ clientConnectWithDB
}

// handshakeHead is the part HandshakeResponse41 shares with SSLRequest:
// capabilities, max packet size, charset and 23 reserved bytes.
func (s *session) handshakeHead() []byte {
	b := binary.LittleEndian.AppendUint32(nil, s.clientCaps())
	b = binary.LittleEndian.AppendUint32(b, maxPacket)
	b = append(b, charsetUTF8MB4)
	return append(b, make([]byte, 23)...)
}

// startTLS sends SSLRequest and upgrades the connection; the login that
// follows goes over TLS.
func (s *session) startTLS(serverName string) error {
	s.tls = true
	if err := s.write(s.handshakeHead()); err != nil {
		return err
	}
	if err := s.c.UpgradeTLS(serverName); err != nil {
		return err
	}
	s.br.Reset(s.c)
	return nil
}

// emptyAuth is what each plugin's client sends for an empty password. The
// SHA-2 plugins and clear text send one NUL byte (libmysqlclient does the
// same), the scramble-based plugins send nothing.
func emptyAuth(plugin string) []byte {
	switch plugin {
	case pluginCachingSHA2, pluginSHA256, pluginClearText:
		return []byte{0}
	}
	return nil
}

// login sends HandshakeResponse41 for user with an empty password and follows
// the server through auth switches. It returns nil when the server accepted
// the login, the server's ERR packet when it refused.
func (s *session) login(user string) (*serverError, error) {
	plugin := s.greet.plugin()
	auth := emptyAuth(plugin)
	b := s.handshakeHead()
	b = append(b, user...)
	b = append(b, 0, byte(len(auth)))
	b = append(b, auth...)
	if s.clientCaps()&clientPluginAuth != 0 {
		b = append(append(b, plugin...), 0)
	}
	if err := s.write(b); err != nil {
		return nil, err
	}
	return s.authLoop(plugin)
}

// authLoop reads the server's answers to the login until OK or ERR.
func (s *session) authLoop(plugin string) (*serverError, error) {
	for range maxAuthExchanges {
		p, err := s.read(maxPacket)
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return nil, fmt.Errorf("empty auth reply: %w", gown.ErrProtocol)
		}
		switch p[0] {
		case hdrOK:
			return nil, nil
		case hdrERR:
			return parseErr(p)
		case hdrEOF:
			// AuthSwitchRequest: plugin name, NUL, plugin data. A bare 0xFE
			// is the pre-4.1 switch to mysql_old_password.
			name, _, _ := bytes.Cut(p[1:], []byte{0})
			plugin = string(name)
			if len(p) == 1 {
				plugin = "mysql_old_password"
			}
			if err := s.write(emptyAuth(plugin)); err != nil {
				return nil, err
			}
		case hdrMoreData:
			if err := s.moreData(plugin, p); err != nil {
				return nil, err
			}
		default:
			if plugin != pluginCachingSHA2 && plugin != "mysql_native_password" {
				// A dialog (PAM) prompt or another plugin's own packet.
				return nil, fmt.Errorf("%w (plugin %s)", errMoreThanEmpty, plugin)
			}
			return nil, fmt.Errorf("auth reply starts with 0x%02x: %w", p[0], gown.ErrProtocol)
		}
	}
	return nil, fmt.Errorf("auth exchange did not end after %d packets: %w", maxAuthExchanges, gown.ErrProtocol)
}

// moreData answers an AuthMoreData packet. Only caching_sha2_password's
// status bytes have an empty-password answer: fast-auth success is followed
// by OK; perform-full-auth wants the password in clear, and the empty
// password in clear is one NUL byte. Over plaintext a real MySQL 8 refuses
// that (it expects RSA), but the empty password has nothing to protect, and
// the server's answer is the verdict either way.
func (s *session) moreData(plugin string, p []byte) error {
	if plugin != pluginCachingSHA2 || len(p) != 2 {
		return fmt.Errorf("%w (plugin %s)", errMoreThanEmpty, plugin)
	}
	switch p[1] {
	case fastAuthSuccess:
		return nil
	case performFullAuth:
		return s.write([]byte{0})
	}
	return fmt.Errorf("caching_sha2_password status 0x%02x: %w", p[1], gown.ErrProtocol)
}

// Command bytes: the first byte of a request packet after login.
const (
	comQuit  = 0x01
	comQuery = 0x03
)

// quit sends COM_QUIT so the server logs a clean disconnect rather than an
// aborted connection.
func (s *session) quit() {
	s.seq = 0
	s.write([]byte{comQuit})
}
