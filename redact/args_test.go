package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestArg(t *testing.T) {
	cases := []struct{ in, want string }{
		{"redis://:s3cretpass@127.0.0.1:6379", "redis://127.0.0.1:6379"},
		{"mongodb://user:pw@db.example.test:27017/admin?authSource=admin", "mongodb://db.example.test:27017"},
		{"redis://default:p@ss@cache.example.test", "redis://cache.example.test"},
		{"https://ghp_R8kT2mW9qZ4xV7nB3cY6hJ1dF5gL0pS8aQ2E@api.example.test/", "https://api.example.test"},
		{"https://shop.firebaseio.com/.json?auth=s3cret", "https://shop.firebaseio.com"},
		{"postgres://[::1]:5432", "postgres://[::1]:5432"},
		{"redis://127.0.0.1:6379", "redis://127.0.0.1:6379"},
		{"REDIS://u:p@h", "REDIS://h"},
		{"127.0.0.1:6379", "127.0.0.1:6379"},
		{"--ports", "--ports"},
		{"6379-16379", "6379-16379"},
		{"redis://", "redis://"},
		{"//0@://", "://"},
		{"--target=redis://u:p@h", "://[REDACTED]"},
		// Not a URL Go parses: no user info, path or query is kept, and
		// what is kept does not parse either.
		{"redis://:pa ss@host", "redis://[REDACTED]"},
		{"redis://:a/b%zz@host", "redis://[REDACTED]"},
		{"redis://host:6379/%zz?auth=t0ken", "redis://host:6379/%[REDACTED]"},
		{"redis://10.0.0.9\x1b]0;pwned\x07\u202e", "redis://10.0.0.9\x1b]0;pwned\x07\u202e"},
	}
	for _, c := range cases {
		if got := Arg(c.in); got != c.want {
			t.Errorf("Arg(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	in := []string{"--source", "127.0.0.2", "redis://:x@h:1"}
	got := Args(in)
	if strings.Join(got, " ") != "--source 127.0.0.2 redis://h:1" || in[2] != "redis://:x@h:1" {
		t.Errorf("Args(%q) = %q (input after: %q)", in, got, in)
	}
}

// FuzzArg: whatever the argument, Arg keeps no user info or query, keeps
// an argument without "://" as it is, is idempotent, keeps the scheme, host
// and port a target is parsed from, and makes no target of an argument
// that was none.
func FuzzArg(f *testing.F) {
	f.Add("redis://:s3cretpass@127.0.0.1:6379/0?x=1#y")
	f.Fuzz(func(t *testing.T, s string) {
		got := Arg(s)
		i := strings.Index(s, "://")
		if i < 0 && got != s {
			t.Fatalf("Arg(%q) = %q: changed an argument that holds no URL", s, got)
		}
		if again := Arg(got); again != got {
			t.Fatalf("Arg(Arg(%q)) = %q, Arg = %q", s, again, got)
		}
		if v, err := url.Parse(got); i >= 0 && err == nil && v.User.String() != "" {
			t.Fatalf("Arg(%q) = %q keeps user info", s, got)
		}
		u, err := url.Parse(s)
		if i < 0 {
			return
		}
		if err != nil || len(u.Scheme) != i || u.Host == "" || u.Opaque != "" {
			// No target: what is kept must be none either, or a resume
			// would probe what the scan skipped.
			j := strings.Index(got, "://")
			if v, err := url.Parse(got); j >= 0 && err == nil && len(v.Scheme) == j && v.Host != "" && v.Opaque == "" {
				t.Fatalf("Arg(%q) = %q parses to a target; the argument did not", s, got)
			}
			return
		}
		v, err := url.Parse(got)
		if err != nil {
			t.Fatalf("Arg(%q) = %q does not parse: %v", s, got, err)
		}
		if v.User != nil || v.RawQuery != "" || v.Fragment != "" || v.Path != "" {
			t.Fatalf("Arg(%q) = %q keeps more than scheme, host and port", s, got)
		}
		if v.Scheme != u.Scheme || v.Hostname() != u.Hostname() || v.Port() != u.Port() {
			t.Fatalf("Arg(%q) = %q: scheme, host or port changed", s, got)
		}
	})
}
