package extract

import (
	"bufio"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Inflating is most of an app's extraction time (BENCHMARKS.md). Every zip
// the extractor opens gets inflate as its Deflate decompressor instead of
// compress/flate: github.com/klauspost/compress/flate reads the same streams
// (and fails the same bad ones, archive/zip still checks sizes and CRCs)
// with Huffman loops specialised for a *bufio.Reader rather than an
// io.ByteReader call per byte, and the 64 KiB buffer reads the file in
// larger pieces than archive/zip's 4 KiB. Readers are pooled, as archive/zip
// pools its own: each holds a 32 KiB window and its tables.
const inflateBuffer = 64 << 10

var inflaters sync.Pool // of *inflater

type inflater struct {
	br     *bufio.Reader
	fr     io.ReadCloser
	closed bool
}

func newInflater(r io.Reader) io.ReadCloser {
	if x, ok := inflaters.Get().(*inflater); ok {
		x.br.Reset(r)
		if err := x.fr.(flate.Resetter).Reset(x.br, nil); err == nil {
			x.closed = false
			return x
		}
	}
	br := bufio.NewReaderSize(r, inflateBuffer)
	return &inflater{br: br, fr: flate.NewReader(br)}
}

func (x *inflater) Read(p []byte) (int, error) {
	if x.closed {
		return 0, io.ErrClosedPipe
	}
	return x.fr.Read(p)
}

// Close returns the reader to the pool; a second Close does nothing.
func (x *inflater) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	x.br.Reset(nil) // drop the entry's reader
	inflaters.Put(x)
	return nil
}
