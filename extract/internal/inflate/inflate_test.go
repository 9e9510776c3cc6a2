package inflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// deflate compresses b at level.
func deflate(t testing.TB, b []byte, level int) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// samples are texts that exercise every block type: text with repeats
// (dynamic codes, long and overlapping matches), noise (stored blocks),
// runs (distance 1) and empty input.
func samples() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 100<<10)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	var text bytes.Buffer
	for i := range 20000 {
		text.WriteString("https://api.example.net/v1/users/")
		text.WriteByte(byte('a' + r.IntN(26)))
		if i%7 == 0 {
			text.WriteString("Lcom/example/shop/Class;")
		}
	}
	return map[string][]byte{
		"text":  text.Bytes(),
		"noise": noise,
		"run":   bytes.Repeat([]byte{'z'}, 70000),
		"mixed": append(append(bytes.Clone(noise[:5000]), text.Bytes()[:50000]...), noise[:3000]...),
		"empty": nil,
		"one":   []byte("x"),
	}
}

func TestIntoDecodesWhatFlateWrites(t *testing.T) {
	for name, want := range samples() {
		for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression, flate.HuffmanOnly} {
			z := deflate(t, want, level)
			for how, r := range map[string]io.Reader{"a byte at a time": iotest.OneByteReader(bytes.NewReader(z)),
				"by halves": iotest.HalfReader(bytes.NewReader(z)), "EOF with data": iotest.DataErrReader(bytes.NewReader(z)),
				"whole": bytes.NewReader(z)} {
				got := make([]byte, len(want))
				if err := Into(r, got); err != nil {
					t.Fatalf("%s level %d read %s: %v", name, level, how, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s level %d read %s: output differs", name, level, how)
				}
			}
		}
	}
}

// A buffer of the wrong size is an error either way, and Fill pauses at
// any limit, a match cut there going on in the next call.
func TestSizesAndLimits(t *testing.T) {
	want := samples()["text"]
	z := deflate(t, want, flate.DefaultCompression)
	if err := Into(bytes.NewReader(z), make([]byte, len(want)+1)); !errors.Is(err, ErrShort) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("buffer one byte long: err = %v, want ErrShort", err)
	}
	if err := Into(bytes.NewReader(z), make([]byte, len(want)-1)); !errors.Is(err, ErrLong) {
		t.Errorf("buffer one byte short: err = %v, want ErrLong", err)
	}
	got := make([]byte, len(want))
	d := NewDecoder(bytes.NewReader(z), got)
	for limit := 0; limit < len(want); limit += 97 {
		if err := d.Fill(limit); err != nil || d.Written() != limit {
			t.Fatalf("Fill(%d): %v, written %d", limit, err, d.Written())
		}
	}
	if err := d.End(); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("End: %v, equal %v", err, bytes.Equal(got, want))
	}
}

// A stream decoded a window at a time, sliding, is the stream.
func TestSlide(t *testing.T) {
	for name, want := range samples() {
		if len(want) < 3*Window {
			continue
		}
		z := deflate(t, want, flate.BestCompression)
		buf := make([]byte, Window+10000)
		d := NewDecoder(bytes.NewReader(z), buf)
		var got []byte
		slid := 0
		for slid+d.Written() < len(want) {
			limit := min(len(buf), len(want)-slid)
			if err := d.Fill(limit); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got = append(got, buf[len(got)-slid:limit]...)
			slid += d.Slide()
		}
		d.Move(buf[:d.Written()])
		if err := d.End(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: End %v, same %v", name, err, bytes.Equal(got, want))
		}
	}
}

func TestBadStreams(t *testing.T) {
	good := deflate(t, samples()["text"], flate.DefaultCompression)
	n := len(samples()["text"])
	for name, c := range map[string]struct {
		z    []byte
		want error
	}{
		"cut":           {good[:len(good)/2], io.ErrUnexpectedEOF},
		"empty":         {nil, io.ErrUnexpectedEOF},
		"block type 3":  {[]byte{0x07, 0, 0, 0}, ErrCorrupt},
		"stored length": {[]byte{0x01, 0x05, 0x00, 0x00, 0x00}, ErrCorrupt},
		"distance back": {deflateRaw(t), ErrCorrupt},
	} {
		err := Into(bytes.NewReader(c.z), make([]byte, n))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

// deflateRaw is a fixed-code block whose first symbol is a match: a
// distance before the start of the output.
func deflateRaw(t *testing.T) []byte {
	// BFINAL=1, BTYPE=01 (bits 0-2), length code 257 (0000001, bits 3-9),
	// distance code 0 (00000, bits 10-14).
	return []byte{0x03, 0x02, 0x00}
}

// FuzzInflate decodes any stream as compress/flate does: the same bytes
// when it succeeds, an error when it fails.
func FuzzInflate(f *testing.F) {
	for _, b := range samples() {
		f.Add(deflate(f, b[:min(len(b), 3000)], flate.DefaultCompression))
		f.Add(deflate(f, b[:min(len(b), 3000)], flate.HuffmanOnly))
	}
	f.Add([]byte{0x03, 0x00})
	f.Fuzz(func(t *testing.T, z []byte) {
		want, stdErr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 1<<20))
		got := make([]byte, len(want))
		err := Into(iotest.HalfReader(bytes.NewReader(z)), got)
		if stdErr == nil && len(want) < 1<<20 {
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("compress/flate decodes %d bytes; Into: %v, equal %v", len(want), err, bytes.Equal(got, want))
			}
			if err := Into(bytes.NewReader(z), make([]byte, len(want)+1)); err == nil {
				t.Fatal("a buffer one byte longer than the stream: no error")
			}
			return
		}
		if stdErr != nil && err == nil {
			t.Fatalf("compress/flate fails (%v) after %d bytes; Into succeeds", stdErr, len(want))
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatal("output differs")
		}
	})
}

func BenchmarkInto(b *testing.B) {
	want := samples()["text"]
	z := deflate(b, want, flate.DefaultCompression)
	out := make([]byte, len(want))
	b.SetBytes(int64(len(want)))
	for b.Loop() {
		Into(bytes.NewReader(z), out)
	}
}
