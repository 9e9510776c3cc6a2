package traffic

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Synthetic captures, written here byte by byte, for fuzz seeds, reader
// tests and the benchmark. The real captures are recorded by tcpdump
// (bed_test.go); these only need to be valid files.

var synthStart = time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)

// tcpFrame builds an Ethernet, IPv4 and TCP frame (checksums left zero:
// the reader does not check them, as tcpdump records offloaded ones).
func tcpFrame(src, dst netip.AddrPort, seq, ack uint32, flags uint8, payload []byte) []byte {
	b := make([]byte, 14+20+20+len(payload))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(payload)))
	ip[8], ip[9] = 64, 6
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp, src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12], tcp[13] = 5<<4, flags
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], payload)
	return b
}

// conversation is one TCP connection: handshake, the client's bytes, the
// server's, and both FINs; payloads over 1400 bytes are segmented.
func conversation(client, server netip.AddrPort, c2s, s2c []byte) [][]byte {
	cs, ss := uint32(1000), uint32(5000)
	out := [][]byte{
		tcpFrame(client, server, cs, 0, flagSYN, nil),
		tcpFrame(server, client, ss, cs+1, flagSYN|flagACK, nil),
	}
	cs++
	ss++
	send := func(from, to netip.AddrPort, seq *uint32, ack uint32, p []byte) {
		for len(p) > 0 {
			n := min(len(p), 1400)
			out = append(out, tcpFrame(from, to, *seq, ack, flagACK|0x08, p[:n]))
			*seq += uint32(n)
			p = p[n:]
		}
	}
	send(client, server, &cs, ss, c2s)
	send(server, client, &ss, cs, s2c)
	out = append(out, tcpFrame(client, server, cs, ss, flagFIN|flagACK, nil), tcpFrame(server, client, ss, cs+1, flagFIN|flagACK, nil))
	return out
}

// writePcap writes frames as a little-endian microsecond pcap file.
func writePcap(w io.Writer, frames [][]byte, first int) error {
	if first == 0 {
		h := make([]byte, 24)
		binary.LittleEndian.PutUint32(h, magicMicro)
		binary.LittleEndian.PutUint16(h[4:], 2)
		binary.LittleEndian.PutUint16(h[6:], 4)
		binary.LittleEndian.PutUint32(h[16:], 262144)
		binary.LittleEndian.PutUint32(h[20:], uint32(LinkEthernet))
		if _, err := w.Write(h); err != nil {
			return err
		}
	}
	rec := make([]byte, 16)
	for i, f := range frames {
		t := synthStart.Add(time.Duration(first+i) * time.Millisecond)
		binary.LittleEndian.PutUint32(rec, uint32(t.Unix()))
		binary.LittleEndian.PutUint32(rec[4:], uint32(t.Nanosecond()/1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
		if _, err := w.Write(rec); err != nil {
			return err
		}
		if _, err := w.Write(f); err != nil {
			return err
		}
	}
	return nil
}

// pcapngFile writes frames as a pcapng file: a section, one Ethernet
// interface with nanosecond timestamps, enhanced packet blocks.
func pcapngFile(frames [][]byte) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		binary.Write(&b, le, typ)
		binary.Write(&b, le, n)
		b.Write(body)
		binary.Write(&b, le, n)
	}
	shb := make([]byte, 16)
	le.PutUint32(shb, ngByteOrder)
	le.PutUint16(shb[4:], 1)
	le.PutUint64(shb[8:], ^uint64(0))
	block(blockSHB, shb)
	idb := make([]byte, 8, 20)
	le.PutUint16(idb, uint16(LinkEthernet))
	le.PutUint32(idb[4:], 262144)
	idb = append(idb, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0) // if_tsresol=9, end
	block(blockIDB, idb)
	for i, f := range frames {
		ts := uint64(synthStart.Add(time.Duration(i) * time.Millisecond).UnixNano())
		epb := make([]byte, 20, 20+len(f))
		le.PutUint32(epb[4:], uint32(ts>>32))
		le.PutUint32(epb[8:], uint32(ts))
		le.PutUint32(epb[12:], uint32(len(f)))
		le.PutUint32(epb[16:], uint32(len(f)))
		block(blockEPB, append(epb, f...))
	}
	return b.Bytes()
}

// clientHello is a real ClientHello crypto/tls sends for sni with ALPN h2.
func clientHello(sni string) []byte {
	c1, c2 := net.Pipe()
	defer c2.Close()
	go func() {
		tls.Client(c1, &tls.Config{ServerName: sni, NextProtos: []string{"h2", "http/1.1"}}).Handshake()
		c1.Close()
	}()
	buf := make([]byte, 4096)
	c2.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _ := io.ReadAtLeast(c2, buf, 5)
	for n < 5+int(binary.BigEndian.Uint16(buf[3:])) {
		k, err := c2.Read(buf[n:])
		if err != nil {
			break
		}
		n += k
	}
	return buf[:n]
}

// synthFlows is one round of an app's traffic: HTTP in clear with Basic
// auth and personal data, TLS with SNI, Redis with AUTH and a write, a
// PostgreSQL startup with a clear-text password, memcached, and a DNS
// answer naming the API.
func synthFlows(round int) [][]byte {
	cport := uint16(20000 + round%40000)
	api := netip.MustParseAddr("192.0.2.10")
	cl := netip.MustParseAddr("10.0.0.2")
	person := `{"name":"Amelia Hartmann","email":"amelia.hartmann@mail.example.test","phone":"+49 151 23456789"}`
	basic := base64.StdEncoding.EncodeToString([]byte("shopper:s3cret"))
	req := "POST /v1/profile?session=abc HTTP/1.1\r\nHost: api.shop.example\r\nAuthorization: Basic " + basic +
		"\r\nContent-Type: application/json\r\nContent-Length: " + itoa(len(person)) + "\r\n\r\n" + person
	resp := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + itoa(len(person)) + "\r\n\r\n" + person
	var out [][]byte
	out = append(out, dnsAnswerFrame(cl, "api.shop.example", api), dnsAnswerFrame(cl, "config.shop.example", netip.MustParseAddr("192.0.2.30")))
	out = append(out, conversation(netip.AddrPortFrom(cl, cport), netip.AddrPortFrom(api, 80), []byte(req), []byte(resp))...)
	out = append(out, conversation(netip.AddrPortFrom(cl, cport+1), netip.AddrPortFrom(api, 443), synthHello, nil)...)
	redis := "*2\r\n$4\r\nAUTH\r\n$6\r\nhunter\r\n*3\r\n$3\r\nSET\r\n$7\r\nprofile\r\n$" + itoa(len(person)) + "\r\n" + person + "\r\n"
	out = append(out, conversation(netip.AddrPortFrom(cl, cport+2), netip.AddrPortFrom(api, 6379), []byte(redis), []byte("+OK\r\n+OK\r\n"))...)
	pg := pgStartup("app", "shop")
	pg = append(pg, 'p', 0, 0, 0, 12)
	pg = append(pg, "pg-pass\x00"...)
	pgs := []byte{'R', 0, 0, 0, 8, 0, 0, 0, 3, 'R', 0, 0, 0, 8, 0, 0, 0, 0}
	out = append(out, conversation(netip.AddrPortFrom(cl, cport+3), netip.AddrPortFrom(api, 5432), pg, pgs)...)
	mc := "set user:1 0 0 " + itoa(len(person)) + "\r\n" + person + "\r\n"
	out = append(out, conversation(netip.AddrPortFrom(cl, cport+4), netip.AddrPortFrom(api, 11211), []byte(mc), []byte("STORED\r\n"))...)
	return out
}

var synthHello = clientHello("secure.shop.example")

func itoa(n int) string { return strconv.Itoa(n) }

func pgStartup(user, db string) []byte {
	body := []byte{0, 3, 0, 0}
	body = append(body, "user\x00"+user+"\x00database\x00"+db+"\x00\x00"...)
	l := make([]byte, 4)
	binary.BigEndian.PutUint32(l, uint32(4+len(body)))
	return append(l, body...)
}

// dnsAnswerFrame is a UDP DNS response giving name the address a.
func dnsAnswerFrame(client netip.Addr, name string, a netip.Addr) []byte {
	var q []byte
	for _, l := range bytes.Split([]byte(name), []byte(".")) {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	q = append(q, 0, 0, 1, 0, 1)
	msg := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}
	msg = append(msg, q...)
	a4 := a.As4()
	msg = append(msg, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
	msg = append(msg, a4[:]...)
	b := make([]byte, 14+20+8+len(msg))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(28+len(msg)))
	ip[8], ip[9] = 64, 17
	s4, d4 := netip.MustParseAddr("10.0.0.1").As4(), client.As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp, 53)
	binary.BigEndian.PutUint16(udp[2:], 40000)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(msg)))
	copy(udp[8:], msg)
	return b
}

// synthHAR is a small HAR 1.2 file: one clear-text POST with personal data
// and a bearer token, one HTTPS GET.
const synthHAR = `{"log":{"version":"1.2","creator":{"name":"gown-test","version":"1"},"entries":[
{"startedDateTime":"2026-12-05T08:00:00Z","serverIPAddress":"192.0.2.10","request":{"method":"POST","url":"http://api.shop.example/v1/profile?x=1","httpVersion":"HTTP/1.1","headers":[{"name":"Authorization","value":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MTAwMSJ9.c2lnbmF0dXJlLXZhbHVl"}],"postData":{"mimeType":"application/json","text":"{\"email\":\"amelia.hartmann@mail.example.test\",\"phone\":\"+49 151 23456789\"}"}},"response":{"status":200,"headers":[],"content":{"mimeType":"application/json","text":"eyJvayI6dHJ1ZX0=","encoding":"base64"}}},
{"startedDateTime":"2026-12-05T08:00:01Z","request":{"method":"GET","url":"https://secure.shop.example/v1/config","httpVersion":"HTTP/2.0","headers":[]},"response":{"status":200,"headers":[],"content":{"mimeType":"application/json","text":"{}"}}}
]}}`
