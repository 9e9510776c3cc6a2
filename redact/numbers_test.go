package redact

import (
	"strings"
	"testing"
	"time"
)

// Values planted in names by the redaction test (testbed), and the
// shapes a name or escaped evidence gives them.
const (
	testGitHub = "ghp_R8kT2mW9qZ4xV7nB3cY6hJ1dF5gL0pS8aQ2E"
	testAWS    = "AKIAQ7X2M4K4R6T3W5YZ"
	testStripe = "sk_live_51Hq8Zt3Xv9Lm2Np7Rb4Wc6Y"
)

// TestStringGlued: a card number or a token glued to a name's letters or
// "_", or to an escape in evidence, is masked; ids, dates and counters
// glued to a name are not, and numbers standing alone are masked as
// before.
func TestStringGlued(t *testing.T) {
	cases := []struct{ in, want string }{
		{"x_4111111111111111", "x_[NUM-11]"},
		{"card4111 1111 1111 1111x", "card[NUM-11]x"},
		{"order_4000056655665556", "order_[NUM-56]"},
		{"4111111111111111_backup", "[NUM-11]_backup"},
		{"users_378282246310005", "users_[NUM-05]"},
		{`\x124111111111111111\x00`, `\x12[NUM-11]\x00`},
		{`\x004111111111111111`, `\x00[NUM-11]`},
		{`\r\n4111111111111111`, `\r\n[NUM-11]`},
		{`\u00854111111111111111`, `\u0085[NUM-11]`},
		{`\x4111111111111111`, `\x[NUM-11]`},
		{"imei490154203237518", "imei[NUM-18]"},
		{"a4111111111111111 01", "a[NUM-11] 01"},
		{"user4111 1111 1111 1111 2024x", "user[NUM-11] 2024x"},
		// Ids, dates and counters in names stay.
		{"events_1712345678", "events_1712345678"},
		{"events_1712345678901", "events_1712345678901"},
		{"x_4111111111111112", "x_4111111111111112"},
		{"1Z999AA10123456784", "1Z999AA10123456784"},
		{"db_20260312", "db_20260312"},
		// What \b masked before is masked still.
		{"a 1234567890", "a [NUM-90]"},
		{"123456789012 34x", "[NUM-12] 34x"},
		{"x1 234567890 1x", "x1 [NUM-90] 1x"},
		{"logs-2026-03-12-0001", "logs-[NUM-01]"},
		{"call 0151-2345-6789", "call [NUM-89]"},
		// Tokens wherever they stand; the prefix names the issuer.
		{testGitHub, "ghp_…[REDACTED]"},
		{"cache:" + testGitHub + ":1", "cache:ghp_…[REDACTED]:1"},
		{"x_" + testAWS, "x_AKIA…[REDACTED]"},
		{`\x14` + testAWS + `\x0532768`, `\x14AKIA…[REDACTED]\x0532768`},
		{"db5/" + testStripe + "/README", "db5/sk_live_…[REDACTED]/README"},
		{strings.ToLower(testStripe), "sk_live_…[REDACTED]"},
		{"xoxb-1234567890-abcdefghij", "xoxb-…[REDACTED]"},
		{"glpat-abcdefghij0123456789", "glpat-…[REDACTED]"},
		{"AIza" + strings.Repeat("b", 35), "AIza…[REDACTED]"},
		// Words that share a prefix stay.
		{"high_value", "high_value"},
		{"AKIA_docs", "AKIA_docs"},
		{"sk_live_short", "sk_live_short"},
		{"key-value store", "key-value store"},
	}
	for _, c := range cases {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
		checkRuleTests(t, c.in)
	}
}

// TestBytesMasksAcrossTheCut: an index named after an e-mail address that
// straddles the evidence cut is masked whole, not shown as "jane.roe@…".
func TestBytesMasksAcrossTheCut(t *testing.T) {
	const mail = "jane.roe@tenant.example.test"
	head := `[{"index":"` + strings.Repeat("a", 40) + `"},{"index":"`
	b := []byte(head + mail + `","docs.count":"1"}]`)
	max := len(head) + 4 // the cut falls in "jane"
	got := Bytes(b, max)
	if strings.Contains(got, "jane") || !strings.HasSuffix(got, Ellipsis) {
		t.Fatalf("Bytes = %q: the address across the cut is shown in part", got)
	}
	if !strings.HasPrefix(got, head) || len(got) > len(head)+4+len(Ellipsis) {
		t.Fatalf("Bytes = %q: want the first %d bytes, masked", got, max)
	}
	// A stream kept in part: what Bytes got ends in a torn address, which
	// it must not show even where the cut leaves room.
	long := []byte(head + strings.Repeat("b", TailGuard) + mail)
	long = long[:len(long)-10]
	got = Bytes(long, len(head))
	if strings.Contains(got, "jane") || strings.Contains(got, "bbbb") {
		t.Fatalf("Bytes of a torn stream = %q", got)
	}
	// Escapes are never cut in two.
	got = Bytes([]byte("ab\x00\x00\x00cd"+strings.Repeat("z", 20)), 3)
	if got != `ab\x00…` {
		t.Fatalf("Bytes = %q, want %q", got, `ab\x00…`)
	}
}

// plantedSecrets are values the fuzz target hides in names: cards that
// pass the Luhn check, tokens, an e-mail address.
var plantedSecrets = []string{"4111111111111111", "5555555555554444", "378282246310005", "4000056655665556",
	testGitHub, testAWS, testStripe, strings.ToLower(testStripe), "jane.roe@tenant.example.test"}

// FuzzSecretInName: a planted card number, token or e-mail address glued
// to whatever a name puts around it never comes out of String, Text or
// Bytes whole, nor its first eight characters (past a token's prefix) out
// of a cut (a secret torn where evidence ends). A card glued to more digits is another number,
// and is left out. Seeds in testdata/fuzz/FuzzSecretInName.
func FuzzSecretInName(f *testing.F) {
	f.Add("x_", "", uint8(0), 0)
	f.Add(`{"index":"`, `","docs":1}`, uint8(8), 12)
	f.Add("\x14", "\x05", uint8(5), 40)
	f.Fuzz(func(t *testing.T, pre, suf string, which uint8, max int) {
		secret := plantedSecrets[int(which)%len(plantedSecrets)]
		if isDigit(secret[0]) && (pre != "" && isDigit(pre[len(pre)-1]) || suf != "" && isDigit(suf[0])) {
			return
		}
		max %= 1024
		if max < 0 {
			max = -max
		}
		name := pre + secret + suf
		head := secret[:8] // a secret's start, past the prefix that names a token's issuer
		for _, p := range tokenPrefixes {
			if strings.HasPrefix(secret, p) {
				head = secret[len(p) : len(p)+8]
				break
			}
		}
		for fn, out := range map[string]string{"String": String(name), "Text": Text(name, max), "Bytes": Bytes([]byte(name), max)} {
			if strings.Contains(out, secret) {
				t.Fatalf("%s(%q) = %q holds %q", fn, name, out, secret)
			}
			if strings.Contains(out, head) && !strings.Contains(pre, head) && !strings.Contains(suf, head) &&
				!strings.Contains(String(pre), head) && !strings.Contains(String(suf), head) {
				t.Fatalf("%s(%q, %d) = %q holds %q, the start of %q", fn, name, max, out, head, secret)
			}
		}
	})
}

// TestGluedRunTime: a hostile name of many separated digits glued to
// letters costs linear time. The card search once tried every pair of
// separators with a digit count each, cubic: 2,000 digits took 20 s. The
// bound is generous, for a loaded machine; linear time takes milliseconds.
func TestGluedRunTime(t *testing.T) {
	s := "x" + strings.Repeat("1 ", 50000) + "1x"
	start := time.Now()
	got := String(s)
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("String of a %d-byte glued run took %v", len(s), took)
	}
	if !strings.HasPrefix(got, "x1 [NUM-") {
		t.Fatalf("String of a glued run = %.40q…", got)
	}
}
