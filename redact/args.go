package redact

import (
	"net/url"
	"strings"
)

// Args returns a command line's arguments with every URL in them cut to
// what gown reads of a target URL (Arg): a scan stores its arguments, to
// resume from them and to show them, and must not keep the credentials a
// user put in a target (redis://:password@host). args is not changed.
func Args(args []string) []string {
	if args == nil {
		return nil
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = Arg(a)
	}
	return out
}

// Arg cuts a URL argument to its scheme, host and port, the parts a target
// is made of: "redis://:s3cret@cache.example:6380/0?tls=1" becomes
// "redis://cache.example:6380". The user info goes (gown never logs in
// with a given password, so a resumed scan that parses the cut argument
// probes the same target), and with it the path, query and fragment, which
// no target reads and which may hold a token ("?auth=…"). An argument
// without "://" comes back as it is.
//
// An argument that holds "://" but is no URL with a scheme and a host is
// no target either, and must stay none: it keeps a scheme it starts with
// and, when nothing after "://" could be user info (no "@"), what stands
// before the first "/", "?" or "#", with "/%[REDACTED]" (which no URL
// parser takes) for whatever followed; else only "://[REDACTED]". A
// hostile argument full of escapes stays for a writer to show visibly.
func Arg(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	u, err := url.Parse(s)
	if err == nil && len(u.Scheme) == i && u.Host != "" && u.Opaque == "" {
		if out := s[:i+3] + u.Host; out != s {
			return out
		}
		return s
	}
	scheme, rest := s[:i], s[i+3:]
	if !isScheme(scheme) {
		scheme = ""
	}
	if strings.IndexByte(rest, '@') >= 0 {
		return scheme + "://[REDACTED]"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		return scheme + "://" + rest
	}
	return scheme + "://" + rest[:end] + "/%[REDACTED]"
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" and ".").
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c|0x20 >= 'a' && c|0x20 <= 'z' || i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}
