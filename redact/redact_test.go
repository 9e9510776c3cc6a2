package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct {
		in      string
		mustNot []string
		must    []string
	}{
		{"AUTH password=hunter2 ok", []string{"hunter2"}, []string{"[REDACTED]"}},
		{`{"password":"s3cr3t!","user":"bob"}`, []string{"s3cr3t!"}, []string{"bob"}},
		{"redis://default:topsecret@cache.example.com:6379", []string{"topsecret"}, []string{"cache.example.com"}},
		{"mail alice.smith@example.org now", []string{"alice.smith", "example.org"}, []string{"a***@***.org"}},
		{"card 4111 1111 1111 1111 paid", []string{"4111 1111"}, []string{"[NUM-11]"}},
		{"tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", []string{"dozjg"}, []string{"REDACTED-JWT"}},
		{"# Server\r\nredis_version:7.0.15", nil, []string{"redis_version:7.0.15"}},
	}
	for _, c := range cases {
		got := String(c.in)
		for _, s := range c.mustNot {
			if strings.Contains(got, s) {
				t.Errorf("String(%q) = %q still holds %q", c.in, got, s)
			}
		}
		for _, s := range c.must {
			if !strings.Contains(got, s) {
				t.Errorf("String(%q) = %q lacks %q", c.in, got, s)
			}
		}
	}
}

func TestBytes(t *testing.T) {
	got := Bytes([]byte("+OK\r\n\x00\xff-ERR"), 8)
	if want := `+OK\r\n\x00\xff-…`; got != want {
		t.Fatalf("Bytes = %q, want %q", got, want)
	}
}
