package assess

import "testing"

func TestValidators(t *testing.T) {
	cases := []struct {
		name string
		f    func(string) bool
		yes  []string
		no   []string
	}{
		{"isCard", isCard,
			[]string{"4111 1111 1111 1111", "5555555555554444", "378282246310005", "6011-1111-1111-1117", "2223003122003222", "3530111333300000"},
			[]string{"4111111111111112", "0000000000000000", "4444444444444444", "1234567812345670", "4006381333931", "411111111111111111111", "4111 1111 1111 111x", "4111  1111 1111 1111", "7992739871300000"}},
		{"isIBAN", isIBAN,
			[]string{"DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "FR1420041010050500013M02606", "NL91ABNA0417164300", "CH9300762011623852957"},
			[]string{"DE89370400440532013001", "DE8937040044053201300", "XX89370400440532013000", "GB82WEST1234569876543", "DE89 3704 0044 0532 0130 0O"}},
		{"isSSN", isSSN,
			[]string{"536-22-1941", "078-05-1120", "123-45-6789"},
			[]string{"000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000", "123456789", "2026-03-14"}},
		{"isCPF", isCPF, []string{"529.982.247-25"}, []string{"529.982.247-26", "111.111.111-11", "52998224725"}},
		{"isIMEI", isIMEI, []string{"490154203237518", "356938035643809", "35-209900-176148-1"}, []string{"490154203237519", "111111111111111", "4901542032375"}},
		{"isDeviceID", isDeviceID,
			[]string{"6D92078A-8246-4BA4-AE5B-76104861E7DC", "38400000-8cf0-11bd-b23e-10b96e40000d", "9774d56d682e549c", "490154203237518"},
			[]string{"00000000-0000-0000-0000-000000000000", "ios", "0000000000000000", "pixel-8"}},
		{"isJWT", isJWT,
			[]string{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MTAwMSIsIm5hbWUiOiJBbWVsaWEifQ.Tx8nQ1kqfN0cKp7nFh3yW2bq5s1vXz9LmA4dE6rG7hI",
				"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
			[]string{"eyJvZmZzZXQiOjUwfQ", "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.notjson.sig"}},
		{"isCryptHash", isCryptHash,
			[]string{"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
				"$6$rounds=5000$saltsalt$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./abcdefghijklmnopqrstuv", "{SSHA}K5PM7ypS8JOlDm8ZpX5x9oV2J0Zzb2x0", "pbkdf2_sha256$600000$Xq1kPj4Lz9$Jm9qZ2Vpb2Jqc2RmZ2pvaWpzZGZnb2lqc2RmZ29p"},
			[]string{"$2b$12$short", "5f4dcc3b5aa765d61d8327deb882cf99", "$5821", "hunter2"}},
		{"isDigestHash", isDigestHash,
			[]string{"5f4dcc3b5aa765d61d8327deb882cf99", "5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", "XohImNooBHFR0OVvjcYpJ3NgPQ1qq73WKhHvch0VQtg="},
			[]string{"5f4dcc3b5aa765d61d8327deb882cf9", "Summer2026!", "zzzzcc3b5aa765d61d8327deb882cf99"}},
		{"isIntlPhone", isIntlPhone,
			[]string{"+49 151 23456789", "+1 415 555 0134", "+81 90 1234 5678", "+4915123456789", "+44 (20) 7946-0958"},
			[]string{"+0100", "+15000000", "+1013.25", "0151 2345 6789", "+0 151 2345678", "+1 1 1 1"}},
		{"findEmail", func(v string) bool { _, ok := findEmail(v); return ok },
			[]string{"amelia.hartmann@mail.example.test", " r.o@x.example.com ", "write to hanna@post.example.test today"},
			[]string{"git@github.com:org/repo.git", "icon@2x.png", "sword_epic@3x.webp", "user@localhost", "@handle", "a@b"}},
		{"isPublicIP", isPublicIP,
			[]string{"203.0.113.45", "198.51.100.23", "2001:db8::1"},
			[]string{"10.0.0.12", "127.0.0.1", "1.2.3.4", "192.168.1.10", "fe80::1", "3.12.0", "999.1.1.1"}},
		{"isLatLonText", isLatLonText,
			[]string{"52.520008,13.404954", "48.858370, 2.294481", "(40.71 -74.00)"},
			[]string{"21,45", "91.0,13.4", "52.5,181.0", "0.0,0.0", "1.2.3"}},
		{"isWKTPoint", isWKTPoint, []string{"POINT(13.404954 52.520008)", "SRID=4326;POINT (2.29 48.85)"}, []string{"POINT(200 52)", "LINESTRING(1 2, 3 4)"}},
		{"isPersonName", isPersonName, []string{"Amelia Hartmann", "Mei Lin Tanaka", "João Silva", "O'Neil-Smith"}, []string{"cooluser99", "n/a", "x", "Ceramic Mug 350 ml"}},
		{"isPlaintextPassword", isPlaintextPassword, []string{"Summer2026!", "hunter2", "correct horse battery staple"},
			[]string{"", "********", "null", "true", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "5f4dcc3b5aa765d61d8327deb882cf99"}},
	}
	for _, c := range cases {
		for _, v := range c.yes {
			if !c.f(v) {
				t.Errorf("%s(%q) = false, want true", c.name, v)
			}
		}
		for _, v := range c.no {
			if c.f(v) {
				t.Errorf("%s(%q) = true, want false", c.name, v)
			}
		}
	}
}

func TestBitcoin(t *testing.T) {
	valid := []string{
		"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",                     // the planted note's, BIP-173 style P2WPKH
		"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",                     // BIP-173 test vector, upper case
		"bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297", // BIP-86 taproot, bech32m
		"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",                             // genesis block P2PKH
		"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",                             // BIP-13 style P2SH
	}
	invalid := []string{
		"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlj", // one character changed
		"bc1qXy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", // mixed case
		"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
		"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLz",
		"1111111111111111111114oLvT3", // the all-zero hash, checksum broken
	}
	for _, a := range valid {
		if !validBitcoin(a) {
			t.Errorf("validBitcoin(%q) = false", a)
		}
	}
	for _, a := range invalid {
		if validBitcoin(a) {
			t.Errorf("validBitcoin(%q) = true", a)
		}
	}
	if a, ok := findBitcoin("pay 0.01 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh now"); !ok || a != "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh" {
		t.Errorf("findBitcoin = %q, %v", a, ok)
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string]string{
		"lastLoginIP":                  "_last_login_ip_",
		"READ_ME_TO_RECOVER_YOUR_DATA": "_read_me_to_recover_your_data_",
		"card-number":                  "_card_number_",
		"address1":                     "_address1_",
		"user:1001:email":              "_user_email_",
		"IPAddress":                    "_ip_address_",
		"":                             "",
	} {
		if got := render(words(in)); got != want {
			t.Errorf("words(%q) = %q, want %q", in, got, want)
		}
	}
}
