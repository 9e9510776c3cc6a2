// Package traffic reads what an app actually sent: packet captures (pcap and
// pcapng, as tcpdump, Wireshark or a device write them) and HAR 1.2 files (as
// mitmproxy, Charles, Proxyman or a browser's DevTools write them). It reports
// the back ends seen (DNS answers, TLS SNI and ALPN, HTTP hosts and URLs, raw
// address:port flows with their protocol recognised from the first bytes:
// HTTP, TLS, Redis, MySQL/MariaDB, PostgreSQL, MongoDB, memcached), the
// sensitive-data classes carried in clear text (counts and masked examples
// only) and the credentials sent in clear (HTTP Basic and bearer, Redis AUTH,
// database logins). Report.Findings grades them; Report.Endpoints gives the
// back ends as endpoints, for probing and for the join with an app's static
// extraction (Join).
//
// Everything is streamed and bounded: one packet record is in memory at a
// time (MaxPacket), each connection keeps at most Config.StreamBytes each
// way, all connections together at most Config.MaxBuffered, and the tables
// of back ends and names are capped. A capture cut short or malformed ends
// in an error that names the packet and the offset, and what was read
// before it is kept. No packet is ever sent: this package opens no socket.
package traffic

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
)

// Config bounds an Analyzer. Zero fields take the defaults.
type Config struct {
	// StreamBytes is how much of each connection is kept, each way, for
	// protocol parsing (default 64 KiB): the first requests and replies.
	StreamBytes int
	// MaxBuffered bounds the bytes all open connections keep together
	// (default 64 MiB); past it the least recently active connection is
	// read and dropped.
	MaxBuffered int64
	// MaxFlows bounds the connections followed at once (default 65536).
	MaxFlows int
	// MaxBackends bounds the back ends reported (default 4096); later ones
	// are counted, not kept.
	MaxBackends int
	// Party decides whose server a host is, for a name or an address
	// (gown traffic asks the apps given with --app, then extraction's
	// lists). nil knows no app and no list: development and internal
	// hosts are such (gown.DevHost, gown.InternalHost), every other host
	// is unknown. A back end's party is its names' (Backend.Party).
	Party func(host string) gown.Party
	// Catalog names the store a port or scheme means; nil: none.
	Catalog *gown.Catalog
}

// Defaults.
const (
	DefaultStreamBytes = 64 << 10
	DefaultMaxBuffered = 64 << 20
	DefaultMaxFlows    = 65536
	DefaultMaxBackends = 4096
	maxNames           = 65536 // DNS answers kept (address → names)
	maxNamesPerAddr    = 8     // names kept for one address
	maxPerBackend      = 16    // URLs, names, credentials kept per back end
	maxSamplesPerFlow  = 256   // records classified per connection
)

// Validate fills in defaults and refuses negative limits.
func (c *Config) Validate() error {
	if c.StreamBytes < 0 || c.MaxBuffered < 0 || c.MaxFlows < 0 || c.MaxBackends < 0 {
		return errors.New("traffic: limits must not be negative")
	}
	if c.StreamBytes == 0 {
		c.StreamBytes = DefaultStreamBytes
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.MaxFlows == 0 {
		c.MaxFlows = DefaultMaxFlows
	}
	if c.MaxBackends == 0 {
		c.MaxBackends = DefaultMaxBackends
	}
	if c.Party == nil {
		c.Party = noIdentity
	}
	return nil
}

// Report is what the files read showed.
type Report struct {
	Files    []FileInfo `json:"files"`
	Backends []Backend  `json:"backends"`
	// Credentials are those sent in clear text, masked.
	Credentials []Credential `json:"credentials,omitempty"`
	// DNS lists the names DNS answers gave addresses to, in the order
	// first answered (at most 65,536 names, 8 addresses each): names the
	// app resolved, whether or not a connection to them was recorded.
	DNS    []DNSName `json:"dns,omitempty"`
	Counts Counts    `json:"counts"`
}

// FileInfo says what was read of one file.
type FileInfo struct {
	Name    string `json:"file"`
	Format  string `json:"format"` // pcap, pcapng, har
	Packets int64  `json:"packets,omitempty"`
	Entries int64  `json:"entries,omitempty"` // HAR
	Bytes   int64  `json:"bytes"`
	// Error says where a file went wrong; what came before was read.
	Error string `json:"error,omitempty"`
}

// Counts are the capture's totals, and what was not followed.
type Counts struct {
	Packets   int64 `json:"packets"`
	TCPFlows  int64 `json:"tcp_flows"`
	UDPFlows  int64 `json:"udp_flows"`
	DNS       int64 `json:"dns_answers"`
	Fragments int64 `json:"fragments_skipped,omitempty"`
	Other     int64 `json:"other_packets,omitempty"` // not IP, not TCP/UDP, or an unknown link type
	// Evicted counts connections read before they ended, to keep memory
	// within MaxBuffered and MaxFlows; Gaps those missing a segment.
	Evicted int64 `json:"flows_evicted,omitempty"`
	Gaps    int64 `json:"flows_with_gaps,omitempty"`
	// DroppedBackends counts back ends past MaxBackends.
	DroppedBackends int64 `json:"backends_dropped,omitempty"`
}

// Backend is one server the traffic went to: an address and port, with
// the names it was reached by and what was spoken to it.
type Backend struct {
	// Host is the best name known (TLS SNI, HTTP Host, DNS answer), else
	// the address.
	Host string `json:"host"`
	// Names lists every name seen for it.
	Names []string `json:"names,omitempty"`
	Addr  string   `json:"ip,omitempty"`
	Port  int      `json:"port"`
	// Protocol is what the first bytes spoke: http, tls, redis, mysql,
	// postgres, mongodb, memcached, dns, quic, or unknown.
	Protocol string `json:"protocol"`
	// Store is the catalog's store for the protocol (redis, mysql...), "" for
	// http, tls and others.
	Store string   `json:"store,omitempty"`
	TLS   bool     `json:"tls"`
	ALPN  []string `json:"alpn,omitempty"`
	// URLs are the HTTP URLs requested (query strings cut), in clear or
	// from a HAR file.
	URLs      []string `json:"urls,omitempty"`
	Flows     int      `json:"flows"`
	Bytes     int64    `json:"bytes"`
	Cleartext bool     `json:"cleartext"` // application data was seen in clear text
	// Party says whose server it is: decided by its names when the
	// traffic shows any (the strongest of them, see strongerParty), else
	// by its address (loopback and emulator addresses are dev, private
	// ones internal, others unknown unless Config.Party knows them).
	Party gown.Party `json:"party"`
	// FirstParty is Party == first, kept for readers of older output.
	FirstParty bool `json:"first_party"`
	// Classes are the sensitive-data classes found in clear-text payloads,
	// with counts and masked examples.
	Classes []gown.ClassCount `json:"classes,omitempty"`
	// Seen is where it was first seen.
	Seen Where `json:"seen"`
}

// Credential is a credential sent in clear text. Secret is masked; User is
// kept (a login name is what an attacker needs beside the password, and
// what the owner needs to rotate).
type Credential struct {
	// Kind: http-basic, http-bearer, redis-auth, mysql-login,
	// postgres-login, mongodb-login, memcached-sasl.
	Kind   string `json:"kind"`
	User   string `json:"user,omitempty"`
	Secret string `json:"secret,omitempty"`
	// Detail says what was seen: "empty password", "password in clear",
	// "mysql_native_password hash".
	Detail  string `json:"detail,omitempty"`
	Backend string `json:"backend"`
	Where   Where  `json:"where"`
}

// DNSName is one name a DNS answer resolved.
type DNSName struct {
	Name  string   `json:"name"`
	Addrs []string `json:"ips"`
	// Party is the name's party (Config.Party); FirstParty is Party ==
	// first, kept for readers of older output.
	Party      gown.Party `json:"party"`
	FirstParty bool       `json:"first_party"`
	Seen       Where      `json:"seen"`
}

// Where points at a place in a file: a packet (its number and byte offset)
// or a HAR entry (its index).
type Where struct {
	File   string `json:"file"`
	Packet int64  `json:"packet,omitempty"`
	Entry  int64  `json:"entry,omitempty"`
	Offset int64  `json:"offset"`
}

// String names the place for a reader.
func (w Where) String() string {
	if w.Entry > 0 {
		return fmt.Sprintf("%s entry %d", w.File, w.Entry)
	}
	return fmt.Sprintf("%s packet %d @%d", w.File, w.Packet, w.Offset)
}

// Analyzer reads captures and HAR files into one Report. It is not safe
// for concurrent use.
type Analyzer struct {
	cfg      Config
	flows    *flowTable
	names    map[netip.Addr][]string // DNS answers: the names of each address, up to maxNamesPerAddr
	dnsNames map[string]int          // name → index in rep.DNS
	backends map[netip.AddrPort]*backend
	byName   map[string]*backend // HAR back ends without an address
	order    []*backend
	rep      Report
	file     string
}

// backend accumulates one Backend.
type backend struct {
	b       Backend
	ap      netip.AddrPort
	classes map[string]*gown.ClassCount
	creds   int
	sni     string
	host    string
}

// New returns an Analyzer.
func New(cfg Config) (*Analyzer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Analyzer{cfg: cfg, names: map[netip.Addr][]string{}, dnsNames: map[string]int{}, backends: map[netip.AddrPort]*backend{}, byName: map[string]*backend{}}
	a.flows = newFlowTable(cfg, a.flowDone)
	a.flows.drain = a.drain
	return a, nil
}

// ReadFile reads one capture or HAR file, told apart by its first bytes.
// A file that ends early or goes wrong gives an error, and what was read
// before stays in the report.
func (a *Analyzer) ReadFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	return a.Read(ctx, f, path)
}

// Read reads one capture or HAR stream named name.
func (a *Analyzer) Read(ctx context.Context, r io.Reader, name string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64)
	a.file = name
	info := FileInfo{Name: name}
	var err error
	if isHAR(head) {
		info.Format = "har"
		err = a.readHAR(ctx, br, &info)
	} else {
		err = a.readCapture(ctx, br, &info)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
		info.Error = err.Error()
	}
	a.rep.Files = append(a.rep.Files, info)
	return err
}

func (a *Analyzer) readCapture(ctx context.Context, r io.Reader, info *FileInfo) error {
	pr, err := NewPacketReader(r)
	if err != nil {
		return err
	}
	info.Format = pr.Format()
	defer func() { info.Bytes = pr.Offset() }()
	for {
		if info.Packets&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		p, err := pr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		info.Packets++
		a.rep.Counts.Packets++
		a.packet(p)
	}
}

// packet decodes one packet and hands it to the flow table, or reads it as
// DNS.
func (a *Analyzer) packet(p Packet) {
	s, res := decode(p.Link, p.Data)
	switch res {
	case decodedFragment:
		a.rep.Counts.Fragments++
		return
	case decodedOK:
	default:
		a.rep.Counts.Other++
		return
	}
	w := Where{File: a.file, Packet: p.N, Offset: p.Offset}
	if s.udp && (s.src.Port() == 53 || s.src.Port() == 5353) {
		a.dns(s.payload, w)
		a.flows.add(s, w) // the resolver is a back end of its own
		return
	}
	a.flows.add(s, w)
}

// dns keeps the names a DNS answer gives to addresses.
func (a *Analyzer) dns(b []byte, w Where) {
	for _, ans := range parseDNS(b) {
		if !validHost(ans.name) {
			continue
		}
		have, ok := a.names[ans.addr]
		if !ok && len(a.names) >= maxNames {
			continue
		}
		// Every name an address answered for is kept (a CDN's address
		// serves many): the back end there is decided by the strongest
		// of them, not by whichever answer came last.
		if !slices.Contains(have, ans.name) && len(have) < maxNamesPerAddr {
			a.names[ans.addr] = append(have, ans.name)
		}
		a.rep.Counts.DNS++
		i, ok := a.dnsNames[ans.name]
		if !ok {
			if len(a.rep.DNS) >= maxNames {
				continue
			}
			i = len(a.rep.DNS)
			a.dnsNames[ans.name] = i
			a.rep.DNS = append(a.rep.DNS, DNSName{Name: ans.name, Seen: w})
		}
		d := &a.rep.DNS[i]
		if ip := ans.addr.String(); len(d.Addrs) < 8 && !slices.Contains(d.Addrs, ip) {
			d.Addrs = append(d.Addrs, ip)
		}
	}
}

// backendFor finds or makes the back end at ap; nil past MaxBackends.
func (a *Analyzer) backendFor(ap netip.AddrPort, name string, w Where) *backend {
	var b *backend
	if ap.IsValid() {
		b = a.backends[ap]
	} else {
		b = a.byName[name+":"]
	}
	if b != nil {
		return b
	}
	if len(a.order) >= a.cfg.MaxBackends {
		a.rep.Counts.DroppedBackends++
		return nil
	}
	b = &backend{ap: ap, classes: map[string]*gown.ClassCount{}}
	b.b.Port = int(ap.Port())
	if ap.IsValid() {
		b.b.Addr = ap.Addr().Unmap().String()
		a.backends[ap] = b
	} else {
		a.byName[name+":"] = b
	}
	b.b.Seen = w
	a.order = append(a.order, b)
	return b
}

// harBackend finds or makes the back end of a HAR entry: by address when
// the entry names one, else by host and port.
func (a *Analyzer) harBackend(host string, port int, ip string, w Where) *backend {
	if addr, err := netip.ParseAddr(strings.Trim(ip, "[]")); err == nil {
		return a.backendFor(netip.AddrPortFrom(addr, uint16(port)), "", w)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return a.backendFor(netip.AddrPortFrom(addr, uint16(port)), "", w)
	}
	b := a.backendFor(netip.AddrPort{}, strings.ToLower(host)+":"+strconv.Itoa(port), w)
	if b != nil {
		b.b.Port = port
	}
	return b
}

func addName(l []string, n string) []string {
	n = strings.ToLower(strings.TrimSuffix(n, "."))
	if n == "" || slices.Contains(l, n) || len(l) >= maxPerBackend {
		return l
	}
	return append(l, n)
}

// addClasses merges the classes found in one flow's records.
func (b *backend) addClasses(cs []gown.ClassCount) {
	for _, c := range cs {
		k := c.Class
		have := b.classes[k]
		if have == nil {
			cp := c
			cp.Database = ""
			b.classes[k] = &cp
			continue
		}
		have.Records += c.Records
		for _, f := range c.Fields {
			if len(have.Fields) < 4 && !slices.Contains(have.Fields, f) {
				have.Fields = append(have.Fields, f)
			}
		}
		for _, e := range c.Examples {
			if len(have.Examples) < 2 && !slices.Contains(have.Examples, e) {
				have.Examples = append(have.Examples, e)
			}
		}
	}
}

// addCredential keeps a credential seen in clear, at most maxPerBackend
// per back end.
func (a *Analyzer) addCredential(b *backend, c Credential) {
	if b.creds >= maxPerBackend {
		return
	}
	for _, have := range a.rep.Credentials {
		if have.Kind == c.Kind && have.User == c.User && have.Detail == c.Detail && have.Backend == backendKey(b) {
			return
		}
	}
	b.creds++
	c.Backend = backendKey(b)
	a.rep.Credentials = append(a.rep.Credentials, c)
}

// backendKey names a back end by address and port while reading (names
// may still come): it is replaced by the best name in Report.
func backendKey(b *backend) string {
	if b.ap.IsValid() {
		return b.ap.String()
	}
	return "name:" + b.host + ":" + strconv.Itoa(b.b.Port)
}

// Report finishes reading (every connection still open is read) and
// returns what was seen. Back ends come in the order first seen.
func (a *Analyzer) Report() *Report {
	a.flows.flushAll()
	rep := a.rep
	rep.Backends = nil
	keys := map[string]string{}
	for _, b := range a.order {
		out := b.b
		if b.ap.IsValid() {
			for _, n := range a.names[b.ap.Addr()] {
				out.Names = addName(out.Names, n)
			}
		}
		out.Host = cmp.Or(b.sni, b.host)
		if out.Host == "" && len(out.Names) > 0 {
			out.Host = out.Names[0]
		}
		if out.Host == "" {
			out.Host = out.Addr
		}
		out.Host = strings.ToLower(strings.TrimSuffix(out.Host, "."))
		out.Party = a.backendParty(out)
		out.FirstParty = out.Party == gown.PartyFirst
		if out.Store == "" && a.cfg.Catalog != nil {
			if k, ok := a.cfg.Catalog.Kind(out.Protocol); ok {
				out.Store = k.Name
			}
		}
		for _, c := range b.classes {
			out.Classes = append(out.Classes, *c)
		}
		slices.SortFunc(out.Classes, func(x, y gown.ClassCount) int { return strings.Compare(x.Class, y.Class) })
		keys[backendKey(b)] = hostPort(out.Host, out.Port)
		rep.Backends = append(rep.Backends, out)
	}
	rep.DNS = slices.Clone(a.rep.DNS)
	for i := range rep.DNS {
		rep.DNS[i].Party = a.cfg.Party(rep.DNS[i].Name)
		rep.DNS[i].FirstParty = rep.DNS[i].Party == gown.PartyFirst
	}
	rep.Credentials = slices.Clone(a.rep.Credentials)
	for i := range rep.Credentials {
		if k, ok := keys[rep.Credentials[i].Backend]; ok {
			rep.Credentials[i].Backend = k
		}
	}
	return &rep
}

// noIdentity is Config.Party's default: no app's identity and no list of
// third parties to go by.
func noIdentity(host string) gown.Party {
	if p := gown.NetworkParty(host); p != "" {
		return p
	}
	return gown.PartyUnknown
}

// backendParty decides b's party by the names the traffic showed for it
// (TLS SNI, HTTP Host, DNS answers), the strongest of them, or by its
// address when it showed none.
func (a *Analyzer) backendParty(b Backend) gown.Party {
	best := a.cfg.Party(b.Host) // the address, when there is no name
	for _, n := range b.Names {
		best = strongerParty(best, a.cfg.Party(n))
	}
	if partyRank[best] == 0 {
		return gown.PartyUnknown // a Config.Party that said nothing known
	}
	return best
}

// partyRank orders the parties of a back end reached by several names,
// strongest last. One name tied to the app makes the address and port
// the app's own back end, whatever else shares it (a CDN, virtual
// hosts), so first is strongest. An internal name says the server sits on
// a private network, which only --allow-private may probe, so it goes
// before unknown. A name on a third party's list says that party is
// served there too, not that the other names are its, so unknown goes
// before third. A development name (localhost, *.local) says the least.
var partyRank = map[gown.Party]int{gown.PartyDev: 1, gown.PartyThird: 2, gown.PartyUnknown: 3, gown.PartyInternal: 4, gown.PartyFirst: 5}

// strongerParty is the stronger of p and q by partyRank.
func strongerParty(p, q gown.Party) gown.Party {
	if partyRank[q] > partyRank[p] {
		return q
	}
	return p
}

// party is b's party, from FirstParty for a back end written before
// Party was (first or third, as gown traffic then decided).
func (b Backend) party() gown.Party { return gown.PartyOr(b.Party, b.FirstParty) }

// party is d's party, as Backend.party.
func (d DNSName) party() gown.Party { return gown.PartyOr(d.Party, d.FirstParty) }

func hostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// sensitive lists the classes of b that are personal data or secrets.
func sensitive(b Backend) []string {
	var out []string
	for _, c := range b.Classes {
		if assess.Sensitive(c.Class) {
			out = append(out, c.Class)
		}
	}
	return out
}
