package memcached

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// fake is a stand-in server replaying replies captured from memcached 1.6.18
// (testdata/, recorded from the Debian build with 40 keys planted) and, for
// the non-memcached peers, what those peers send. real_test.go runs the real
// server; this one covers peers a real server cannot be made to be (Redis,
// HTTP, TLS, hostile streams) and keeps the verdict tests fast.
type fake struct {
	// text answers a text request line ("stats", "stats settings"); a missing
	// one gets memcached's "ERROR\r\n".
	text map[string]string
	// binary answers a binary request by opcode; when text is nil, a text
	// request is dropped without a word, as -S and -B binary servers do
	// once they have read a 24-byte header with a bad magic byte.
	binary map[byte]string
	// raw is written in answer to anything, then the connection closes.
	raw string
	// stream is written over and over once a request arrives.
	stream string
	// silent reads and never answers.
	silent bool
}

// start serves f on a free loopback port until the test ends.
func (f fake) start(t *testing.T) gown.Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { f.serve(c) })
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	return gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}
}

func (f fake) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	if err != nil {
		return
	}
	switch {
	case f.silent:
		io.Copy(io.Discard, br) // until the client gives up
	case f.raw != "":
		c.Write([]byte(f.raw))
	case f.stream != "":
		for {
			if _, err := c.Write([]byte(f.stream)); err != nil {
				return
			}
		}
	case first[0] == 0x80:
		f.serveBinary(c, br)
	case f.text != nil:
		f.serveText(c, br)
	}
}

func (f fake) serveText(c net.Conn, br *bufio.Reader) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		// memcached's tokenizer skips the padding spaces of gown's stats.
		out, ok := f.text[strings.TrimSpace(line)]
		if !ok {
			out = "ERROR\r\n"
		}
		c.Write([]byte(out))
	}
}

func (f fake) serveBinary(c net.Conn, br *bufio.Reader) {
	for {
		var h [headerLen]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		out, ok := f.binary[h[1]]
		if !ok {
			return
		}
		c.Write([]byte(out))
	}
}

// capture reads a file of captured server output.
func capture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// resp builds a binary response packet as memcached sends it.
func resp(op byte, status uint16, key, value string) string {
	body := len(key) + len(value)
	h := []byte{magicResponse, op, byte(len(key) >> 8), byte(len(key)), 0, 0, byte(status >> 8), byte(status),
		byte(body >> 24), byte(body >> 16), byte(body >> 8), byte(body)}
	return string(h) + opaque + "\x00\x00\x00\x00\x00\x00\x00\x00" + key + value
}
