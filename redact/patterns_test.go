package redact

import (
	"fmt"
	"testing"

	"github.com/gownscan/gown/internal/lazyre/lazyretest"
)

// ruleExamples are what each of rules must and must not match, in the
// order of rules.
var ruleExamples = []struct {
	name   string
	tp, fp []string
}{
	{"credential after a keyword",
		[]string{"password=hunter2", `{"api_key": "k-1234"}`, "PWD: x", "masterauth=abc", "Token = abc", "requirepass:'s3cret'"},
		[]string{"password reset required", "passport=123", "tokens: 5", "the secret garden"}},
	{"URL user info",
		[]string{"redis://:s3cret@cache.example.net:6379", "postgres://app:pw@db/app"},
		[]string{"https://example.net:8443/path", "mongodb://admin@db.example.net", "admin:pw@host"}},
	{"JSON Web Token",
		[]string{"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"},
		[]string{"eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9.e30.x"}},
	{"API key or token",
		[]string{"ghp_R8kT2mW9qZ4xV7nB3cY6hJ1dF5gL0pS8aQ2E", "x_AKIAQ7X2M4K4R6T3W5YZ", "cache:sk_live_51Hq8Zt3Xv9Lm2Np7Rb4Wc6Y:1",
			"xoxb-1234567890-abcdefghij", "glpat-abcdefghij0123456789"},
		[]string{"ghp_short", "AKIA_docs", "sk_live_short", "key-value store", "high_value"}},
	{"password hash",
		[]string{"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
			"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
			"$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
			"$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "$P$BhWLy9wNXN8WVvAOQ1rXvTtVPrL4tq."},
		[]string{"$2b$12$short", "$6$salt$tooshort", "price: $5", "$argon2id$", "$P$short"}},
	{"IBAN",
		[]string{"DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"},
		[]string{"DE89", "de89370400440532013000", "AB12 CD"}},
	{"e-mail address",
		[]string{"alice@example.com", "<first.last+tag@mail.example.co.uk>"},
		[]string{"alice@localhost", "@example.com", "user@"}},
	{"long digit run",
		[]string{"4111 1111 1111 1111", "+49 170 1234567", "123456789"},
		[]string{"12345678", "2026-01-02", "1.2.3.4.5.6.7.8.9"}},
}

// TestPatternsCompile compiles every pattern of the package, which the
// package itself only does on first use, and checks each rule against its
// examples: a bad or broken pattern fails here by name. Each rule's cheap
// test (may) must pass every true positive, or String would skip them.
func TestPatternsCompile(t *testing.T) {
	if len(ruleExamples) != len(rules) {
		t.Fatalf("%d rules, examples for %d: each rule needs its own, in order", len(rules), len(ruleExamples))
	}
	var cases []lazyretest.Case
	for i, r := range rules {
		ex := ruleExamples[i]
		name := fmt.Sprintf("rules[%d] (%s)", i, ex.name)
		cases = append(cases, lazyretest.Case{Name: name, Re: r.re, TP: ex.tp, FP: ex.fp})
		for _, tp := range ex.tp {
			if !r.may(tp) {
				t.Errorf("%s: may(%q) is false: String would skip a true positive", name, tp)
			}
		}
	}
	lazyretest.Check(t, "github.com/gownscan/gown/redact", cases)
}
