package traffic

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown/internal/testbed"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestCaptureStores records real clients of the other stores on loopback:
// psql against PostgreSQL with trust and with SCRAM, the MongoDB Go driver
// against FerretDB, and memcached's text protocol against memcached (it
// ships no client: the commands are written on a plain connection). The
// protocol readers must name each protocol, its login and the personal
// data that crossed.
func TestCaptureStores(t *testing.T) {
	bed := testbed.Require(t, "postgres-trust", "postgres-scram", "memcached-open", "mongodb-open")
	trust, scram, mc, mongoS := bed.Get("postgres-trust"), bed.Get("postgres-scram"), bed.Get("memcached-open"), bed.Get("mongodb-open")
	var ports []string
	for _, s := range []*testbed.Server{trust, scram, mc, mongoS} {
		ports = append(ports, "tcp port "+strconv.Itoa(int(s.Addr.Port())))
	}
	c := testbed.RecordLoopback(t, strings.Join(ports, " or "))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	psql := func(s *testbed.Server, user, password, db, query string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "psql", "-h", s.Addr.Addr().String(), "-p", strconv.Itoa(int(s.Addr.Port())), "-U", user,
			"-d", db, "-c", query)
		cmd.Env = []string{"PGSSLMODE=disable", "PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=10"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("psql %s: %v\n%s", s.Name, err, out)
		}
	}
	psql(trust, "postgres", "", testbed.SQLCorpusDB, "SELECT full_name, email, phone FROM users LIMIT 3")
	psql(scram, scram.User, scram.Password, "postgres", "SELECT 'amelia.hartmann@mail.example.test' AS email")

	conn, err := net.DialTimeout("tcp", mc.Addr.String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "set gown:traffic:profile 0 60 %d\r\n%s\r\nget gown:traffic:profile\r\nquit\r\n", len(personJSON), personJSON)
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if sc.Text() == "END" {
			break
		}
	}
	conn.Close()

	client, err := mongo.Connect(options.Client().ApplyURI("mongodb://" + mongoS.Addr.String() + "/?directConnection=true&compressors=").SetTimeout(20 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := client.Database("appdata").Collection("users").Find(ctx, bson.D{}, options.Find().SetLimit(3))
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(ctx, &docs); err != nil {
		t.Fatal(err)
	}
	client.Disconnect(ctx)
	path := c.Stop()

	a, _ := New(Config{})
	if err := a.ReadFile(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	js, _ := json.MarshalIndent(rep.Credentials, "", "  ")
	t.Logf("credentials:\n%s", js)
	by := map[string]Backend{}
	for _, b := range rep.Backends {
		by[hostPort(b.Addr, b.Port)] = b
		t.Logf("%s %s cleartext=%v classes=%v", b.label(), b.Addr, b.Cleartext, sensitive(b))
	}
	for s, proto := range map[*testbed.Server]string{trust: "postgres", scram: "postgres", mc: "memcached", mongoS: "mongodb"} {
		b := by[s.Addr.String()]
		if b.Protocol != proto || !b.Cleartext || !slices.Contains(sensitive(b), "email") {
			t.Errorf("%s: %s, cleartext %v, classes %v; want %s with email", s.Name, b.Protocol, b.Cleartext, sensitive(b), proto)
		}
	}
	creds := map[string]string{}
	for _, cr := range rep.Credentials {
		creds[cr.Backend] = cr.Kind + " " + cr.User + " " + cr.Detail
	}
	if got := creds[trust.Addr.String()]; got != "postgres-login postgres no password asked (trust), accepted" {
		t.Errorf("trust login: %q", got)
	}
	if got := creds[scram.Addr.String()]; got != "postgres-login "+scram.User+" SCRAM-SHA-256 exchange (no password on the wire), accepted" {
		t.Errorf("scram login: %q", got)
	}
	if strings.Contains(string(js), scram.Password) {
		t.Error("a password leaked")
	}
}
