package redact

import (
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	cases := []struct{ class, in, want string }{
		{"email", "amelia.hartmann@mail.example.test", "a***@m***.test"},
		{"email", "not-an-address", "n***"},
		{"payment-card", "4111 1111 1111 1111", "**** **** **** 1111"},
		{"payment-card", "378282246310005", "**** **** **** 0005"},
		{"phone", "+49 151 23456789", "+49 *** ******89"},
		{"phone", "+1 415 555 0134", "+1 *** *** **34"},
		{"phone", "+4915123456789", "+49*********89"},
		{"phone", "0151 2345 6789", "**** **** **89"},
		{"iban", "DE89370400440532013000", "DE**…00"},
		{"iban", "GB82 WEST 1234 5698 7654 32", "GB**…32"},
		{"password", "Summer2026!", "[REDACTED]"},
		{"password-hash", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$2b$12$[REDACTED]"},
		{"password-hash", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "$argon2id$v=19$[REDACTED]"},
		{"password-hash", "$6$saltsalt$abcdefghijklmnopqrstuv", "$6$[REDACTED]"},
		{"password-hash", "5f4dcc3b5aa765d61d8327deb882cf99", "hex-32:[REDACTED]"},
		{"password-hash", "pbkdf2_sha256$600000$Xq1k$Jm9q", "pbkdf2_sha256$[REDACTED]"},
		{"password-hash", "{SSHA}K5PM7ypS8JOlDm8ZpX5x9oV2", "{SSHA}[REDACTED]"},
		{"government-id", "536-22-1941", "***-**-**41"},
		{"geo", "52.520008,13.404954", "52.*,13.*"},
		{"geo", "37.774929,-122.419418", "37.*,-122.*"},
		{"device-id", "490154203237518", "4901***********"},
		{"device-id", "6D92078A-8246-4BA4-AE5B-76104861E7DC", "6D92****-****-****-****-************"},
		{"access-token", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MTAwMSJ9.Tx8nQ1kqfN0cKp7nFh3yW2bq5s1vXz9LmA4dE6rG7hI", "JWT(HS256)…[REDACTED]"},
		{"access-token", "rt_8f14e45fceea167a5a36dedd4bea2543aB9", "rt_…[REDACTED]"},
		{"api-key", "AKIAIOSFODNN7EXAMPLE", "AKIA…[REDACTED]"},
		{"api-key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_…[REDACTED]"},
		{"api-key", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", "-----BEGIN RSA PRIVATE KEY-----[REDACTED]"},
		{"ip-address", "203.0.113.45", "203.*.*.*"},
		{"ip-address", "192.0.2.10:53211", "192.*.*.*"},
		{"ip-address", "2001:db8::7334", "2001:*"},
		{"name", "Mei Lin Tanaka", "M*** L*** T***"},
		{"postal-address", "Karl-Marx-Allee 12, 10178 Berlin", "K*** 1*** 1*** B***"},
		{"unknown-class", "something secret", "s***"},
		{"email", "", ""},
		{"government-id", "12", "**"},
	}
	for _, c := range cases {
		if got := Mask(c.class, c.in); got != c.want {
			t.Errorf("Mask(%s, %q) = %q, want %q", c.class, c.in, got, c.want)
		}
	}
}

// TestMaskNeverWhole: for every class, a value of eight characters or more
// never comes back whole, nor does any run of its characters long enough
// to identify it (nine or more).
func TestMaskNeverWhole(t *testing.T) {
	values := []string{"amelia.hartmann@mail.example.test", "+49 151 23456789", "4111 1111 1111 1111",
		"DE89370400440532013000", "536-22-1941", "490154203237518", "6D92078A-8246-4BA4-AE5B-76104861E7DC",
		"Karl-Marx-Allee 12, 10178 Berlin", "Amelia Hartmann", "52.520008,13.404954", "Summer2026!secret"}
	for class := range maskers {
		for _, v := range append(values, "x") {
			got := Mask(class, v)
			if len(v) >= 8 && strings.Contains(got, v) {
				t.Errorf("Mask(%s, %q) = %q holds the value", class, v, got)
			}
			for i := 0; i+9 <= len(v); i++ {
				if w := v[i : i+9]; strings.Trim(w, " ") == w && strings.Contains(got, w) {
					t.Errorf("Mask(%s, %q) = %q holds %q", class, v, got, w)
				}
			}
		}
	}
}

func TestStringHashesAndIBANs(t *testing.T) {
	in := `{"password":"x","hash":"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW","iban":"DE89370400440532013000","id":"AB12"}`
	got := String(in)
	for _, bad := range []string{"R9h/cIPz0gi", "DE89370400440532013000"} {
		if strings.Contains(got, bad) {
			t.Errorf("String left %q in %s", bad, got)
		}
	}
	for _, want := range []string{"$2b$12$[REDACTED]", "DE**…00", `"id":"AB12"`} {
		if !strings.Contains(got, want) {
			t.Errorf("String = %s, lacks %q", got, want)
		}
	}
}
