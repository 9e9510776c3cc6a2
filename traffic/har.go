package traffic

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// MaxHAREntry bounds one HAR entry (or any other value of the file): the
// decoder holds one value in memory at a time, never the file.
const MaxHAREntry = 16 << 20

// isHAR reports whether a file starts like JSON: HAR is the only JSON
// input.
func isHAR(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && head[0] == '{'
}

type harNV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// harEntry is the part of a HAR 1.2 entry gown reads.
type harEntry struct {
	ServerIPAddress string `json:"serverIPAddress"`
	Request         struct {
		Method      string  `json:"method"`
		URL         string  `json:"url"`
		HTTPVersion string  `json:"httpVersion"`
		Headers     []harNV `json:"headers"`
		PostData    *struct {
			MimeType string  `json:"mimeType"`
			Text     string  `json:"text"`
			Params   []harNV `json:"params"`
		} `json:"postData"`
	} `json:"request"`
	Response struct {
		Status  int     `json:"status"`
		Headers []harNV `json:"headers"`
		Content struct {
			MimeType string `json:"mimeType"`
			Text     string `json:"text"`
			Encoding string `json:"encoding"`
		} `json:"content"`
	} `json:"response"`
}

// window fails a read once the decoder holds more than max bytes it has
// not consumed: one value larger than MaxHAREntry.
type window struct {
	r   io.Reader
	n   int64
	dec *json.Decoder
	max int64
}

var errHAREntry = fmt.Errorf("a HAR value over the %d-byte limit", MaxHAREntry)

func (w *window) Read(p []byte) (int, error) {
	if w.dec != nil && w.n-w.dec.InputOffset() > w.max {
		return 0, errHAREntry
	}
	k, err := w.r.Read(p)
	w.n += int64(k)
	return k, err
}

// readHAR streams a HAR file: log.entries is read one entry at a time.
func (a *Analyzer) readHAR(ctx context.Context, r io.Reader, info *FileInfo) error {
	w := &window{r: r, max: MaxHAREntry}
	dec := json.NewDecoder(w)
	w.dec = dec
	defer func() { info.Bytes = dec.InputOffset() }()
	bad := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("HAR entry %d at offset %d: %w: the file ends inside it", info.Entries+1, dec.InputOffset(), ErrTruncated)
		}
		return fmt.Errorf("HAR entry %d at offset %d: %w", info.Entries+1, dec.InputOffset(), err)
	}
	if err := expectDelim(dec, '{'); err != nil {
		return bad(err)
	}
	sawLog := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		if key != "log" {
			if err := skipValue(dec); err != nil {
				return bad(err)
			}
			continue
		}
		sawLog = true
		if err := expectDelim(dec, '{'); err != nil {
			return bad(err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return bad(err)
			}
			if k != "entries" {
				if err := skipValue(dec); err != nil {
					return bad(err)
				}
				continue
			}
			if err := expectDelim(dec, '['); err != nil {
				return bad(err)
			}
			for dec.More() {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				off := dec.InputOffset()
				var e harEntry
				if err := dec.Decode(&e); err != nil {
					return bad(err)
				}
				info.Entries++
				a.harEntry(&e, Where{File: a.file, Entry: info.Entries, Offset: off})
			}
			if _, err := dec.Token(); err != nil {
				return bad(err)
			}
		}
		if _, err := dec.Token(); err != nil {
			return bad(err)
		}
	}
	if !sawLog {
		return fmt.Errorf("%w: JSON without a HAR log", ErrNotCapture)
	}
	return nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %q, got %v", d, t)
	}
	return nil
}

// skipValue skips one value token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// harEntry adds one request and its response to their back end.
func (a *Analyzer) harEntry(e *harEntry, w Where) {
	u, err := url.Parse(e.Request.URL)
	if err != nil || u.Host == "" {
		return
	}
	host := u.Hostname()
	if !validHost(host) {
		return
	}
	port, _ := strconv.Atoi(u.Port())
	scheme := strings.ToLower(u.Scheme)
	tls := scheme == "https" || scheme == "wss"
	if port == 0 {
		port = 80
		if tls {
			port = 443
		}
	}
	ip := e.ServerIPAddress
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	b := a.harBackend(host, port, ip, w)
	if b == nil {
		return
	}
	if b.host == "" {
		b.host = strings.ToLower(host)
	}
	fx := facts{proto: "http", tls: tls, cleartext: !tls, host: strings.ToLower(host)}
	switch v := strings.ToLower(e.Request.HTTPVersion); {
	case strings.Contains(v, "2"):
		fx.addALPN("h2")
	case strings.Contains(v, "3"):
		fx.addALPN("h3")
	case strings.HasPrefix(v, "http/1"):
		if tls {
			fx.addALPN("http/1.1")
		}
	}
	var headers [][2]string
	ctype := ""
	for _, h := range e.Request.Headers {
		headers = append(headers, [2]string{h.Name, h.Value})
		if strings.EqualFold(h.Name, "Content-Type") {
			ctype = h.Value
		}
	}
	var body []byte
	if pd := e.Request.PostData; pd != nil {
		ctype = cmpOr(pd.MimeType, ctype)
		body = []byte(pd.Text)
		if len(body) == 0 && len(pd.Params) > 0 {
			q := url.Values{}
			for _, p := range pd.Params {
				q.Add(p.Name, p.Value)
			}
			body, ctype = []byte(q.Encode()), "application/x-www-form-urlencoded"
		}
	}
	httpRequest(e.Request.Method, e.Request.URL, headers, ctype, "", body, &fx)
	content := []byte(e.Response.Content.Text)
	if strings.EqualFold(e.Response.Content.Encoding, "base64") {
		dec, err := base64.StdEncoding.DecodeString(e.Response.Content.Text)
		if err != nil {
			content = nil
		} else {
			content = dec
		}
	}
	httpBody("response", e.Response.Content.MimeType, "", content, &fx)
	a.apply(b, &fx, w)
}
