package redis

import (
	"reflect"
	"testing"

	"github.com/gownscan/gown"
)

func TestParseInfo(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		fields map[string]string // checked one by one; others may exist
		dbs    []gown.Database
		memory uint64
	}{
		{
			name:   "redis 7",
			in:     info7,
			fields: map[string]string{"redis_version": "7.0.15", "redis_mode": "standalone", "role": "master", "os": "Linux 6.1.0 x86_64"},
			dbs:    []gown.Database{{Name: "db0", Items: 3}, {Name: "db2", Items: 5}},
			memory: 989520,
		},
		{
			name:   "used_memory above 4 GiB",
			in:     "# Memory\r\nused_memory:5000000000\r\nused_memory_human:4.66G\r\n",
			fields: map[string]string{"used_memory_human": "4.66G"},
			memory: 5000000000,
		},
		{
			name:   "used_memory near the uint64 limit",
			in:     "used_memory:18446744073709551615\r\n",
			memory: 18446744073709551615,
		},
		{
			name:   "used_memory garbage",
			in:     "used_memory:-1\r\nused_memory_rss:x\r\n",
			fields: map[string]string{"used_memory": "-1"},
		},
		{
			name:   "LF line ends and a value with colons",
			in:     "# Server\nredis_version:6.2.6\nexecutable:/opt/redis:bin/redis-server\n",
			fields: map[string]string{"redis_version": "6.2.6", "executable": "/opt/redis:bin/redis-server"},
		},
		{
			name: "keyspace oddities",
			in: "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n" +
				"db15:expires=0,keys=12\r\n" + // field order is not relied on
				"db1:keys=x,expires=0\r\n" + // bad count: kept as a field, not a database
				"dbx:keys=1\r\n" + // not a database name
				"db3:keys=18446744073709551615,expires=0,avg_ttl=0,subexpiry=0\r\n",
			fields: map[string]string{"db1": "keys=x,expires=0", "dbx": "keys=1"},
			dbs:    []gown.Database{{Name: "db0", Items: 1}, {Name: "db15", Items: 12}, {Name: "db3", Items: 18446744073709551615}},
		},
		{
			name:   "first of duplicate fields wins",
			in:     "role:master\r\nrole:slave\r\n",
			fields: map[string]string{"role": "master"},
		},
		{name: "empty", in: ""},
		{name: "no fields", in: "# Server\r\n\r\njust text\r\n:novalue\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := parseInfo(tt.in)
			for k, want := range tt.fields {
				if got := in.fields[k]; got != want {
					t.Errorf("field %s = %q, want %q", k, got, want)
				}
			}
			if !reflect.DeepEqual(in.dbs, tt.dbs) {
				t.Errorf("dbs = %+v, want %+v", in.dbs, tt.dbs)
			}
			if in.memory != tt.memory {
				t.Errorf("memory = %d, want %d", in.memory, tt.memory)
			}
		})
	}
}

// info7 is INFO from Redis 7.0.15, trimmed to one or two lines a section,
// with two databases planted.
const info7 = "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\n" +
	"os:Linux 6.1.0 x86_64\r\narch_bits:64\r\ntcp_port:6379\r\nconfig_file:\r\n\r\n" +
	"# Clients\r\nconnected_clients:1\r\n\r\n" +
	"# Memory\r\nused_memory:989520\r\nused_memory_human:966.33K\r\n\r\n" +
	"# Persistence\r\nloading:0\r\n\r\n" +
	"# Replication\r\nrole:master\r\nconnected_slaves:0\r\n" +
	"master_replid:af53280d106e3b15e5f01c13e2e9beb6e3b8d70a\r\n\r\n" +
	"# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb2:keys=5,expires=0,avg_ttl=0\r\n"
