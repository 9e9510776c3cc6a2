package traffic

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
)

// QUIC v1 (RFC 9000, 9001): a client's Initial packets are encrypted with
// keys anyone can derive from the packet's destination connection id, so
// that the ClientHello inside (SNI, ALPN) is as readable as TLS over TCP.
// parseQUIC decrypts the client's first Initial packets of a UDP flow and
// reads that ClientHello; nothing later in the connection can be read.

// quicV1Salt is RFC 9001 §5.2's initial_salt for QUIC version 1.
var quicV1Salt = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}

// maxQUICInitials bounds the Initial packets decrypted per flow.
const maxQUICInitials = 4

// quicKeys are the client's Initial packet protection keys.
type quicKeys struct {
	aead cipher.AEAD
	iv   []byte
	hp   cipher.Block
}

// expandLabel is TLS 1.3's HKDF-Expand-Label with an empty context.
func expandLabel(secret []byte, label string, n int) []byte {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	out, err := hkdf.Expand(sha256.New, secret, string(info), n)
	if err != nil {
		return make([]byte, n)
	}
	return out
}

func clientInitialKeys(dcid []byte) (*quicKeys, bool) {
	initial, err := hkdf.Extract(sha256.New, dcid, quicV1Salt)
	if err != nil {
		return nil, false
	}
	client := expandLabel(initial, "client in", 32)
	block, err := aes.NewCipher(expandLabel(client, "quic key", 16))
	if err != nil {
		return nil, false
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, false
	}
	hp, err := aes.NewCipher(expandLabel(client, "quic hp", 16))
	if err != nil {
		return nil, false
	}
	return &quicKeys{aead: aead, iv: expandLabel(client, "quic iv", 12), hp: hp}, true
}

// varint reads a QUIC variable-length integer.
func varint(b []byte) (uint64, []byte, bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, nil, false
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, b[n:], true
}

// quicInitial decrypts the client Initial packet at the start of b and
// returns its plaintext frames, its destination connection id and the
// bytes after the packet (a coalesced packet, or the next datagram).
func quicInitial(b []byte, keys *quicKeys) (plain, dcid, rest []byte, ok bool) {
	if len(b) < 7 || b[0]&0xf0 != 0xc0 || binary.BigEndian.Uint32(b[1:]) != 1 {
		return nil, nil, nil, false
	}
	p := b[5:]
	dl := int(p[0])
	if dl > 20 || len(p) < 1+dl+1 {
		return nil, nil, nil, false
	}
	dcid, p = p[1:1+dl], p[1+dl:]
	sl := int(p[0])
	if sl > 20 || len(p) < 1+sl {
		return nil, nil, nil, false
	}
	p = p[1+sl:]
	tl, p, ok := varint(p)
	if !ok || tl > uint64(len(p)) {
		return nil, nil, nil, false
	}
	p = p[tl:]
	length, p, ok := varint(p)
	if !ok || length > uint64(len(p)) || length < 20 {
		return nil, nil, nil, false
	}
	pnOff := len(b) - len(p)
	end := pnOff + int(length)
	if keys == nil {
		if keys, ok = clientInitialKeys(dcid); !ok {
			return nil, nil, nil, false
		}
	}
	mask := make([]byte, 16)
	keys.hp.Encrypt(mask, b[pnOff+4:pnOff+20])
	first := b[0] ^ mask[0]&0x0f
	pnLen := int(first&3) + 1
	header := append([]byte(nil), b[:pnOff+pnLen]...)
	header[0] = first
	var pn uint64
	for i := 0; i < pnLen; i++ {
		header[pnOff+i] ^= mask[1+i]
		pn = pn<<8 | uint64(header[pnOff+i])
	}
	nonce := append([]byte(nil), keys.iv...)
	for i := 0; i < 8; i++ {
		nonce[11-i] ^= byte(pn >> (8 * i))
	}
	plain, err := keys.aead.Open(nil, nonce, b[pnOff+pnLen:end], header)
	if err != nil {
		return nil, nil, nil, false
	}
	return plain, dcid, b[end:], true
}

// cryptoFrames places the CRYPTO frames of an Initial's plaintext into hs
// by their offsets, within maxHandshake.
func cryptoFrames(plain []byte, hs []byte) []byte {
	for len(plain) > 0 {
		t := plain[0]
		var ok bool
		switch {
		case t == 0x00 || t == 0x01: // PADDING, PING
			plain = plain[1:]
		case t == 0x02 || t == 0x03: // ACK: largest, delay, range count, first range, ranges, ECN counts
			p := plain[1:]
			var v [4]uint64
			for i := range v {
				if v[i], p, ok = varint(p); !ok {
					return hs
				}
			}
			extra := 2 * v[2]
			if t == 0x03 {
				extra += 3
			}
			if v[2] > 256 {
				return hs
			}
			for i := uint64(0); i < extra; i++ {
				if _, p, ok = varint(p); !ok {
					return hs
				}
			}
			plain = p
		case t == 0x06: // CRYPTO
			var off, n uint64
			p := plain[1:]
			if off, p, ok = varint(p); !ok {
				return hs
			}
			if n, p, ok = varint(p); !ok || n > uint64(len(p)) {
				return hs
			}
			if off+n <= maxHandshake {
				if int(off+n) > len(hs) {
					hs = append(hs, make([]byte, int(off+n)-len(hs))...)
				}
				copy(hs[off:], p[:n])
			}
			plain = p[n:]
		default:
			return hs
		}
	}
	return hs
}

// parseQUIC reads the ClientHello of a QUIC connection from the client's
// first Initial packets (coalesced, or in the next datagrams, found again
// by their version and connection id).
func parseQUIC(c []byte, fx *facts) {
	var hs, dcid []byte
	var keys *quicKeys
	for i := 0; i < maxQUICInitials && len(c) > 0; i++ {
		plain, id, rest, ok := quicInitial(c, keys)
		if !ok {
			if dcid == nil {
				return
			}
			// Padding after a packet, or a packet of another type:
			// look for the next Initial with the same connection id.
			pat := append([]byte{0, 0, 0, 1, byte(len(dcid))}, dcid...)
			j := bytes.Index(c[1:], pat)
			if j < 0 {
				break
			}
			c = c[j:] // the byte before the version is the first byte
			continue
		}
		if dcid == nil {
			dcid = append([]byte(nil), id...)
			keys, _ = clientInitialKeys(dcid)
		}
		hs = cryptoFrames(plain, hs)
		c = rest
		if len(hs) >= 4 && 4+int(hs[1])<<16|int(hs[2])<<8|int(hs[3]) <= len(hs) {
			break
		}
	}
	if len(hs) > 4 && hs[0] == 1 {
		var sub facts
		// parseTLS reads records; wrap the handshake message in one.
		rec := append([]byte{0x16, 3, 3, byte(len(hs) >> 8), byte(len(hs))}, hs...)
		parseTLS(rec, nil, &sub)
		fx.sni = sub.sni
		for _, p := range sub.alpn {
			fx.addALPN(p)
		}
	}
}
