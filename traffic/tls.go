package traffic

import (
	"encoding/binary"

	"github.com/gownscan/gown/redact"
)

// maxHandshake bounds the handshake message read across TLS records.
const maxHandshake = 16 << 10

// handshake joins the payloads of the first TLS handshake records of b
// into one handshake message (a ClientHello may span records).
func handshake(b []byte) []byte {
	var msg []byte
	for len(b) >= 5 && b[0] == 0x16 && len(msg) < maxHandshake {
		n := int(binary.BigEndian.Uint16(b[3:]))
		if 5+n > len(b) {
			msg = append(msg, b[5:]...)
			break
		}
		msg = append(msg, b[5:5+n]...)
		b = b[5+n:]
		if len(msg) >= 4 && 4+int(msg[1])<<16|int(msg[2])<<8|int(msg[3]) <= len(msg) {
			break
		}
	}
	return msg
}

// parseTLS reads the SNI and the offered ALPN protocols from the
// ClientHello, and the chosen ALPN from the ServerHello.
func parseTLS(c, s []byte, fx *facts) {
	if m := handshake(c); len(m) > 4 && m[0] == 1 {
		helloExtensions(m[4:], true, func(typ uint16, e []byte) {
			switch typ {
			case 0: // server_name
				if len(e) >= 5 && e[2] == 0 {
					n := int(binary.BigEndian.Uint16(e[3:]))
					if 5+n <= len(e) && validHost(string(e[5:5+n])) {
						fx.sni = string(e[5 : 5+n])
					}
				}
			case 16: // application_layer_protocol_negotiation
				alpnList(e, func(p string) { fx.addALPN(p) })
			}
		})
	}
	if m := handshake(s); len(m) > 4 && m[0] == 2 {
		var chosen string
		helloExtensions(m[4:], false, func(typ uint16, e []byte) {
			if typ == 16 {
				alpnList(e, func(p string) { chosen = p })
			}
		})
		if chosen = redact.Text(chosen, 64); chosen != "" {
			// The chosen protocol first: it is what was spoken.
			fx.alpn = append([]string{chosen}, remove(fx.alpn, chosen)...)
		}
	}
}

func remove(l []string, v string) []string {
	var out []string
	for _, x := range l {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// helloExtensions walks the extensions of a ClientHello (client) or
// ServerHello body.
func helloExtensions(b []byte, client bool, f func(uint16, []byte)) {
	if len(b) < 35 {
		return
	}
	b = b[34:] // version, random
	sid := int(b[0])
	if 1+sid > len(b) {
		return
	}
	b = b[1+sid:]
	if client {
		if len(b) < 2 {
			return
		}
		n := int(binary.BigEndian.Uint16(b))
		if 2+n > len(b) {
			return
		}
		b = b[2+n:]
		if len(b) < 1 || 1+int(b[0]) > len(b) {
			return
		}
		b = b[1+int(b[0]):]
	} else {
		if len(b) < 3 {
			return
		}
		b = b[3:] // cipher suite, compression
	}
	if len(b) < 2 {
		return
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if n < len(b) {
		b = b[:n]
	}
	for len(b) >= 4 {
		typ, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		if 4+l > len(b) {
			return
		}
		f(typ, b[4:4+l])
		b = b[4+l:]
	}
}

func alpnList(e []byte, f func(string)) {
	if len(e) < 2 {
		return
	}
	e = e[2:]
	for len(e) > 0 {
		n := int(e[0])
		if 1+n > len(e) {
			return
		}
		f(string(e[1 : 1+n]))
		e = e[1+n:]
	}
}
