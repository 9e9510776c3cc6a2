package bench

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
)

// FilteredNet is the part of loopback whose SYNs are dropped (scripts/bench.sh
// adds the iptables rule inside the bench's own network namespace), so that
// connects there time out like filtered ports on the internet.
var FilteredNet = netip.MustParsePrefix("127.99.0.0/16")

// List is a target list on disk: one address a line, each scanned on every
// port of Ports, so Targets is four times Hosts.
type List struct {
	Path     string
	Hosts    int
	Targets  int
	Open     int // farm endpoints in the list
	Filtered int // targets on FilteredNet
}

// WriteList writes a list of about targets host:port pairs (rounded to whole
// hosts): every farm address, filteredShare of the hosts on FilteredNet, and
// the rest random closed addresses across 127.0.0.0/8, shuffled with a fixed
// seed so runs compare.
func WriteList(path string, targets int, farm []Endpoint, filteredShare float64) (List, error) {
	l := List{Path: path, Hosts: targets / len(Ports)}
	rng := rand.New(rand.NewPCG(7, uint64(targets)))
	seen := make(map[netip.Addr]bool, l.Hosts)
	var hosts []netip.Addr
	add := func(a netip.Addr) {
		if !seen[a] {
			seen[a] = true
			hosts = append(hosts, a)
		}
	}
	for _, e := range farm {
		add(e.Addr.Addr())
	}
	l.Open = len(farm)
	nFiltered := int(float64(l.Hosts) * filteredShare)
	for n := 0; n < nFiltered; {
		b := FilteredNet.Addr().As4()
		a := netip.AddrFrom4([4]byte{b[0], b[1], byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		if !seen[a] {
			add(a)
			n++
		}
	}
	l.Filtered = nFiltered * len(Ports)
	for len(hosts) < l.Hosts {
		a := netip.AddrFrom4([4]byte{127, byte(1 + rng.IntN(254)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
		if FarmNet.Contains(a) || FilteredNet.Contains(a) || PoliteNet.Contains(a) {
			continue
		}
		add(a)
	}
	rng.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	f, err := os.Create(path)
	if err != nil {
		return l, err
	}
	w := bufio.NewWriter(f)
	for _, a := range hosts {
		fmt.Fprintln(w, a)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return l, err
	}
	l.Hosts = len(hosts)
	l.Targets = l.Hosts * len(Ports)
	return l, f.Close()
}

// ReadHosts reads a list back.
func ReadHosts(path string) ([]netip.Addr, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.Addr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		a, err := netip.ParseAddr(sc.Text())
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, sc.Err()
}

// PoliteNet holds the relay hosts of the politeness run.
var PoliteNet = netip.MustParsePrefix("127.30.0.0/16")
