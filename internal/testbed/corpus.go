package testbed

// The planted corpus: the same personal data, secrets and ransom note go into
// every open store the test bed runs, so that sampling, classification,
// compromise signs and redaction are checked against one known truth.
//
// Every value is synthetic. Addresses and hosts use the documentation ranges
// (RFC 5737, RFC 2606 ".test"); nothing here is ever dialled. The card is the
// well-known Visa test number, the IBAN the ECBS example, the IMEI the
// GSMA example: each passes its check digit, as real ones do.

// Person is one planted user record. Field names are those a mobile app's
// back end typically uses; stores keep them as columns, JSON fields or hash
// fields.
type Person struct {
	ID       string
	Name     string // personal name (by field name)
	Email    string
	Phone    string
	Password string // a bcrypt hash: "password" class by value and field name
	Card     string // Luhn-valid payment card
	IBAN     string // mod-97-valid IBAN
	SSN      string // government id (by field name and format)
	Lat, Lon string // geolocation pair
	IMEI     string // Luhn-valid device id
	IDFA     string // advertising id
	Token    string // a JWT access token
	IP       string
	Address  string // postal address (by field name)
}

// Fields lists the person as (field name, value) pairs in a fixed order, for
// stores that keep flat records (SQL rows, Redis hashes, memcached values).
func (p Person) Fields() [][2]string {
	return [][2]string{
		{"id", p.ID}, {"full_name", p.Name}, {"email", p.Email}, {"phone", p.Phone},
		{"password", p.Password}, {"card_number", p.Card}, {"iban", p.IBAN}, {"ssn", p.SSN},
		{"lat", p.Lat}, {"lon", p.Lon}, {"imei", p.IMEI}, {"idfa", p.IDFA},
		{"access_token", p.Token}, {"last_ip", p.IP}, {"address", p.Address},
	}
}

// People is the planted users. Three, so counts of "records holding a class"
// are checkable (every class is held by all three).
var People = []Person{
	{
		ID: "u1001", Name: "Amelia Hartmann", Email: "amelia.hartmann@mail.example.test", Phone: "+49 151 23456789",
		Password: "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		Card:     "4111 1111 1111 1111", IBAN: "DE89370400440532013000", SSN: "536-22-1941",
		Lat: "52.520008", Lon: "13.404954", IMEI: "490154203237518", IDFA: "6D92078A-8246-4BA4-AE5B-76104861E7DC",
		Token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MTAwMSIsIm5hbWUiOiJBbWVsaWEifQ.Tx8nQ1kqfN0cKp7nFh3yW2bq5s1vXz9LmA4dE6rG7hI",
		IP:    "203.0.113.45", Address: "Karl-Marx-Allee 12, 10178 Berlin",
	},
	{
		ID: "u1002", Name: "Rafael Okonkwo", Email: "r.okonkwo@inbox.example.test", Phone: "+1 415 555 0134",
		Password: "$2b$12$KIXQJfGcd6/0jU1cLQyPQe6n8vQb7YrP0.d3d4U9m2XlYtQK8p8aG",
		Card:     "5555555555554444", IBAN: "GB82WEST12345698765432", SSN: "219-09-9999",
		Lat: "37.774929", Lon: "-122.419418", IMEI: "356938035643809", IDFA: "EA7583CD-A667-48BC-B806-42ECB2B48606",
		Token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MTAwMiIsIm5hbWUiOiJSYWZhZWwifQ.b3VwQ2lKc9XvR1tZmN8yHq4LpW0aE5sD7fG2hJ6kT1o",
		IP:    "198.51.100.23", Address: "1600 Mission Street, San Francisco, CA 94103",
	},
	{
		ID: "u1003", Name: "Mei Lin Tanaka", Email: "meilin.tanaka@post.example.test", Phone: "+81 90 1234 5678",
		Password: "$2b$12$9aQ0pZ7wN3m1LkJ2hG5fYuT6rE4wQ8sD1cV3bN5mX7zA9qW2eR4tY",
		Card:     "378282246310005", IBAN: "FR1420041010050500013M02606", SSN: "078-05-1120",
		Lat: "35.689487", Lon: "139.691711", IMEI: "352099001761481", IDFA: "B3D1C9F0-7E2A-4F5B-9C8D-1A2B3C4D5E6F",
		Token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MTAwMyIsIm5hbWUiOiJNZWkifQ.Zk9pL2mN4bV6cX8zQ1wE3rT5yU7iO9pA2sD4fG6hJ8k",
		IP:    "192.0.2.77", Address: "2-8-1 Nishi-Shinjuku, Shinjuku-ku, Tokyo 163-8001",
	},
}

// PIIClasses are the classes a correct classifier finds in the planted
// people, by the names assess uses.
var PIIClasses = []string{
	"name", "email", "phone", "password-hash", "payment-card", "iban", "government-id",
	"geo", "device-id", "access-token", "ip-address", "postal-address",
}

// Ransom note as the 2017–2020 campaigns left it: a database (index,
// collection, table, key) named to be read, holding one record with a
// bitcoin address, a contact e-mail and the word "recover".
const (
	RansomName    = "READ_ME_TO_RECOVER_YOUR_DATA"
	RansomMessage = "All your data is backed up. You must pay 0.01 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh " +
		"to recover it. After paying, write to dbrestore@onionmail.example.test with your server IP to recover your database."
	RansomBTC     = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
	RansomContact = "dbrestore@onionmail.example.test"
)

// Secrets lists every planted value that must never appear unmasked in
// anything gown prints or stores: the redaction test greps all output for
// each. (Names of fields and databases are not secret.)
func Secrets() []string {
	var out []string
	for _, p := range People {
		out = append(out, p.Email, p.Phone, p.Password, p.Card, p.IBAN, p.SSN, p.IMEI, p.IDFA, p.Token, p.Address, p.Name)
	}
	return out
}
