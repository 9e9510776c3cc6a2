package testbed

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Secrets in names. Stores let a database, index, collection, table or key
// be named anything, and applications name them after what they hold: a
// tenant's e-mail address, a customer's card, an API key cached under its
// own value. PlantNames puts these values into names, on top of the corpus,
// for the redaction test; every value is synthetic (the Visa test card,
// keys of the documented formats made of made-up characters, an address
// under ".test").
const (
	// NameCard is planted glued to a prefix, "x_4111111111111111", as a
	// key, collection, table, index or database name.
	NameCard = "4111111111111111"
	// NameGitHub, NameAWS and NameStripe are a GitHub personal access
	// token, an AWS access key id and a Stripe live secret key, planted as
	// key and key-prefix names (Redis), database and collection names
	// (MongoDB, PostgreSQL, MariaDB); stores that take lower case only
	// (search indices, CouchDB) get NameStripe in lower case.
	NameGitHub = "ghp_R8kT2mW9qZ4xV7nB3cY6hJ1dF5gL0pS8aQ2E"
	NameAWS    = "AKIAQ7X2M4K4R6T3W5YZ"
	NameStripe = "sk_live_51Hq8Zt3Xv9Lm2Np7Rb4Wc6Y"
	// NameEmail is planted as a database (PostgreSQL, MariaDB), index
	// (OpenSearch), collection (MongoDB) and key name (Redis).
	NameEmail = "jane.roe@tenant.example.test"
	// namesRedisDB is the keyspace PlantNames writes in Redis, apart from
	// the ones of the corpus and the planted key counts.
	namesRedisDB = 7
)

// NameSecrets lists what of the planted names must never appear in
// anything gown prints or stores: each value whole, and its first
// characters past a token's public prefix, which is what a cut through
// the value (the end of a piece of evidence) would leave.
func NameSecrets() []string {
	stripeLower := strings.ToLower(NameStripe)
	return []string{
		NameCard, "x_" + NameCard[:8],
		NameGitHub, NameGitHub[4:12],
		NameAWS, NameAWS[4:12],
		NameStripe, NameStripe[8:16], stripeLower, stripeLower[8:16],
		NameEmail, NameEmail[:strings.IndexByte(NameEmail, '@')],
	}
}

// PlantNames creates databases, collections, tables, indices or keys named
// after NameCard, NameGitHub, NameAWS, NameStripe and NameEmail, each holding
// a record, in an open server of kind redis, mongodb, postgres, mysql,
// elasticsearch or couchdb; a ransom note among them makes a token part of a
// compromise sign's place. It changes what a scan of the server finds: the
// server's Want no longer holds, so only a test that owns the server (not a
// shared bed) may call it.
func (s *Server) PlantNames(ctx context.Context) error {
	glued := "x_" + NameCard
	lower := strings.ToLower(NameStripe)
	var err error
	switch s.Kind {
	case "redis":
		err = s.plantRedisNames(ctx, glued)
	case "mongodb":
		err = s.plantMongoNames(ctx, glued)
	case "postgres":
		err = s.plantPostgresNames(ctx, glued)
	case "mysql":
		_, err = s.sql(ctx, fmt.Sprintf(
			"CREATE DATABASE `%[1]s`; CREATE TABLE `%[1]s`.`%[2]s` (v VARCHAR(10)); INSERT INTO `%[1]s`.`%[2]s` VALUES ('a');\n"+
				"CREATE DATABASE `%[3]s`; CREATE TABLE `%[3]s`.`%[4]s` (v VARCHAR(10)); INSERT INTO `%[3]s`.`%[4]s` VALUES ('a');\n"+
				"CREATE TABLE `%[3]s`.`%[5]s` (v VARCHAR(10)); INSERT INTO `%[3]s`.`%[5]s` VALUES ('a');\n",
			NameEmail, glued, NameAWS, NameStripe, NameGitHub))
	case "elasticsearch":
		c := httpClient(false)
		for _, index := range []string{NameEmail, glued, lower} {
			r := httpReq{method: "PUT", url: s.baseURL() + "/" + index + "/_doc/1?refresh=true", body: []byte(`{"v":"a"}`),
				user: s.User, pass: s.Password}
			if _, err = r.must(ctx, c); err != nil {
				break
			}
		}
	case "couchdb":
		c := httpClient(false)
		for _, db := range []string{glued, lower} {
			if _, err = s.couchReq("PUT", "/"+db, nil).must(ctx, c); err != nil {
				break
			}
			if _, err = s.couchReq("PUT", "/"+db+"/d1", map[string]string{"v": "a"}).must(ctx, c); err != nil {
				break
			}
		}
	default:
		return fmt.Errorf("testbed: %s: PlantNames knows no %s", s.Name, s.Kind)
	}
	if err != nil {
		return fmt.Errorf("testbed: plant names in %s: %w", s.Name, err)
	}
	return nil
}

func (s *Server) plantRedisNames(ctx context.Context, glued string) error {
	c, err := s.adminConn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	cmds := [][]string{{"SELECT", fmt.Sprint(namesRedisDB)}}
	for _, name := range []string{glued, NameGitHub, NameAWS, NameStripe, NameEmail} {
		// The name as a key, and as the prefix ("collection") of two more.
		cmds = append(cmds, []string{"SET", name, "1"}, []string{"SET", name + ":1", "v"}, []string{"SET", name + ":2", "v"})
	}
	cmds = append(cmds, []string{"SET", NameGitHub + ":" + RansomName, RansomMessage})
	return c.pipeline(cmds)
}

func (s *Server) plantMongoNames(ctx context.Context, glued string) error {
	m, err := dialMongo(ctx, s.Addr, false, s.TLS)
	if err != nil {
		return err
	}
	defer m.Close()
	doc := []any{bson.D{{Key: "v", Value: "a"}}}
	// MongoDB takes no "." in a database name: the address names a
	// collection.
	for _, c := range [][2]string{{NameGitHub, glued}, {NameGitHub, NameEmail}, {NameAWS, NameStripe}} {
		if err := m.insert(c[0], c[1], doc); err != nil {
			return err
		}
	}
	return m.insert(NameStripe, "README", []any{bson.D{{Key: "message", Value: RansomMessage}}})
}

func (s *Server) plantPostgresNames(ctx context.Context, glued string) error {
	for _, db := range []string{NameEmail, NameGitHub} {
		if _, err := s.pgExec(ctx, "postgres", `CREATE DATABASE "`+db+`"`); err != nil {
			return err
		}
	}
	if _, err := s.pgExec(ctx, NameEmail, `CREATE TABLE "`+glued+`" (v text); INSERT INTO "`+glued+`" VALUES ('a'); ANALYZE;`); err != nil {
		return err
	}
	_, err := s.pgExec(ctx, NameGitHub, `CREATE TABLE "`+NameStripe+`" (v text); INSERT INTO "`+NameStripe+`" VALUES ('a'); `+
		`CREATE TABLE "`+NameAWS+`" (v text); INSERT INTO "`+NameAWS+`" VALUES ('a'); ANALYZE;`)
	return err
}
