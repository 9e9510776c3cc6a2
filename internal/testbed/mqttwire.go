package testbed

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/gownscan/gown/internal/lazyre"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"
)

// The test bed's own MQTT 3.1.1 client: just enough to plant retained
// messages, stream them and check a broker's answer. gown's prober has its
// own reader; the bed does not share it, so a bug there cannot hide here.

type mqttClient struct {
	conn net.Conn
	br   *bufio.Reader
}

// mqttRefused is a CONNACK with a non-zero return code.
type mqttRefused struct{ code byte }

func (e *mqttRefused) Error() string { return fmt.Sprintf("CONNACK return code %d", e.code) }

func asRefused(err error, target **mqttRefused) bool { return errors.As(err, target) }

// dialMQTT connects as the bed (from 127.0.0.1), with credentials.
func dialMQTT(ctx context.Context, addr netip.AddrPort, useTLS bool, user, pass string) (*mqttClient, error) {
	return dialMQTTFrom(ctx, addr, netip.Addr{}, useTLS, user, pass)
}

// dialMQTTFrom connects from src (any when invalid), over TLS when useTLS
// (the bed's own certificate, not verified), and sends CONNECT, with a user
// name and password when user is set.
func dialMQTTFrom(ctx context.Context, addr netip.AddrPort, src netip.Addr, useTLS bool, user, pass string) (*mqttClient, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if src.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, fmt.Errorf("testbed: mqtt dial %s: %w", addr, err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if useTLS {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // the test bed's own self-signed certificate
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("testbed: mqtt TLS to %s: %w", addr, err)
		}
		conn = tc
	}
	c := &mqttClient{conn: conn, br: bufio.NewReader(conn)}
	flags := byte(0x02)
	var v []byte
	v = mqttString(v, "MQTT")
	if user != "" {
		flags |= 0xc0
	}
	v = append(v, 4, flags, 0, 60)
	v = mqttString(v, "gown-testbed-"+secret()[:6])
	if user != "" {
		v = mqttString(v, user)
		v = mqttString(v, pass)
	}
	if err := c.send(1<<4, v); err != nil {
		conn.Close()
		return nil, err
	}
	typ, body, err := c.read()
	switch {
	case err != nil:
	case typ != 2 || len(body) != 2:
		err = fmt.Errorf("testbed: packet type %d where CONNACK was due", typ)
	case body[1] != 0:
		err = &mqttRefused{code: body[1]}
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func mqttString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// send writes a packet with a remaining length.
func (c *mqttClient) send(first byte, body []byte) error {
	b := []byte{first}
	for n := len(body); ; {
		d := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			break
		}
	}
	_, err := c.conn.Write(append(b, body...))
	return err
}

// read reads one packet (bodies up to 1 MiB).
func (c *mqttClient) read() (byte, []byte, error) {
	first, err := c.br.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for i := 0; i < 4; i++ {
		d, err := c.br.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&0x7f) * mult
		if d&0x80 == 0 {
			break
		}
		mult <<= 7
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("testbed: MQTT packet of %d bytes", n)
	}
	body := make([]byte, n)
	_, err = io.ReadFull(c.br, body)
	return first >> 4, body, err
}

// publish sends a retained QoS 0 PUBLISH.
func (c *mqttClient) publish(topic, payload string) error {
	return c.send(3<<4|1, append(mqttString(nil, topic), payload...))
}

// ping sends PINGREQ and waits for PINGRESP, skipping other packets: the
// broker has handled everything sent before.
func (c *mqttClient) ping() error {
	if err := c.send(12<<4, nil); err != nil {
		return err
	}
	for {
		typ, _, err := c.read()
		if err != nil {
			return fmt.Errorf("testbed: mqtt PINGREQ: %w", err)
		}
		if typ == 13 {
			return nil
		}
	}
}

// subscribeAll subscribes to "#" and "$SYS/#", then pings: it says
// whether "#" was granted and how many messages (the retained ones) came
// before PINGRESP.
func (c *mqttClient) subscribeAll() (granted bool, retained int, err error) {
	body := append(mqttString([]byte{0, 1}, "#"), 0)
	body = append(mqttString(body, "$SYS/#"), 0)
	if err := c.send(8<<4|2, body); err != nil {
		return false, 0, err
	}
	if err := c.send(12<<4, nil); err != nil {
		return false, 0, err
	}
	for {
		typ, body, err := c.read()
		if err != nil {
			return false, 0, fmt.Errorf("testbed: mqtt SUBSCRIBE: %w", err)
		}
		switch typ {
		case 3:
			retained++
		case 9:
			if len(body) != 4 {
				return false, 0, fmt.Errorf("testbed: SUBACK of %d bytes", len(body))
			}
			granted = body[2] != 0x80
		case 13:
			return granted, retained, nil
		}
	}
}

// close sends DISCONNECT and closes.
func (c *mqttClient) close() {
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.send(14<<4, nil)
	c.conn.Close()
}

// MQTTPacket is one control packet mosquitto logged receiving, or a new
// connection.
type MQTTPacket struct {
	// Type is CONNECT, SUBSCRIBE, PUBLISH, PINGREQ, DISCONNECT, …, or
	// "connection" for a new TCP connection (logged before its CONNECT,
	// and the only line a client refused at CONNECT leaves).
	Type string
	// Client is the client id, or for a connection the client's address.
	Client string
	Line   string // the log line
}

// mosquittoReceived matches mosquitto's debug lines for packets it
// received: "Received SUBSCRIBE from gown-1a2b3c4d"; CONNECT is logged as
// "New client connected from ... as ID", a connection as "New connection
// from 127.0.0.2:41234 on port 1883".
var (
	mosquittoReceived = lazyre.New(`Received ([A-Z]+) from (\S+)`)
	mosquittoClient   = lazyre.New(`New client connected from \S+ as (\S+)`)
	mosquittoConn     = lazyre.New(`New connection from (\S+):\d+ on port`)
)

// MQTTPackets returns the packets mosquitto logged receiving from byte
// mark of its log on, the test bed's own (client ids gown-testbed-…, and
// connections from 127.0.0.1) left out.
func (s *Server) MQTTPackets(mark int64) ([]MQTTPacket, error) {
	text, err := s.logSince(mark)
	if err != nil {
		return nil, err
	}
	var out []MQTTPacket
	for line := range strings.SplitSeq(text, "\n") {
		var p MQTTPacket
		if m := mosquittoReceived.FindStringSubmatch(line); m != nil {
			p = MQTTPacket{Type: m[1], Client: m[2], Line: line}
		} else if m := mosquittoClient.FindStringSubmatch(line); m != nil {
			p = MQTTPacket{Type: "CONNECT", Client: m[1], Line: line}
		} else if m := mosquittoConn.FindStringSubmatch(line); m != nil {
			p = MQTTPacket{Type: "connection", Client: m[1], Line: line}
		} else {
			continue
		}
		if strings.HasPrefix(p.Client, "gown-testbed-") || p.Client == loopback.String() {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}
