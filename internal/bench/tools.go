package bench

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// Undecided is the verdict of a tool that saw the service but says nothing
// about its authentication.
const Undecided = "undecided"

// Run is one invocation of a tool: its command line and where its stdout goes.
type Run struct {
	Args []string
	Out  string
	Port int // the port of a one-port-per-run tool (zgrab2)
}

// Tool is one scanner under measurement: the runs it needs over a list (a
// user runs zgrab2 once per module and port, gown and nmap once) and how its
// outputs turn into verdicts per endpoint.
type Tool struct {
	Name     string
	Runs     func(l List, dir string) []Run
	Verdicts func(runs []Run) (map[netip.AddrPort]string, error)
}

// Gown scans the list the way a user would: every store port, default
// limits, sampling on; JSON Lines out. extra adds flags (--no-store, --db).
func Gown(bin, name string, extra ...string) Tool {
	return Tool{
		Name: name,
		Runs: func(l List, dir string) []Run {
			args := append([]string{bin, "scan", "-l", l.Path, "--ports", portList(), "--json", "-q"}, extra...)
			return []Run{{Args: args, Out: filepath.Join(dir, safe(name)+".jsonl")}}
		},
		Verdicts: func(runs []Run) (map[netip.AddrPort]string, error) {
			out := map[netip.AddrPort]string{}
			err := eachLine(runs[0].Out, func(line []byte) error {
				var r struct {
					Target struct {
						IP   netip.Addr `json:"ip"`
						Port uint16     `json:"port"`
					} `json:"target"`
					Status gown.Status `json:"status"`
				}
				if err := json.Unmarshal(line, &r); err != nil {
					return err
				}
				if r.Status.Answered() {
					out[netip.AddrPortFrom(r.Target.IP, r.Target.Port)] = string(r.Status)
				}
				return nil
			})
			return out, err
		},
	}
}

// Zgrab2 runs the matching module per store port: redis, mysql, postgres,
// and banner with a memcached "stats" probe (zgrab2 has no memcached
// module). timeout is passed as each module's --timeout.
func Zgrab2(bin, timeout string) Tool {
	mods := []struct {
		kind string
		args []string
	}{
		{"redis", []string{"redis"}},
		{"mysql", []string{"mysql"}},
		{"postgres", []string{"postgres"}},
		{"memcached", []string{"banner", "--probe", `stats\r\n`}},
	}
	return Tool{
		Name: "zgrab2",
		Runs: func(l List, dir string) []Run {
			var runs []Run
			for _, m := range mods {
				p := Ports[m.kind]
				args := append([]string{bin, "-f", l.Path, "-o", "-", "-l", os.DevNull}, m.args...)
				args = append(args, "--port", strconv.Itoa(p), "--timeout", timeout)
				runs = append(runs, Run{Args: args, Out: filepath.Join(dir, "zgrab2-"+m.kind+".json"), Port: p})
			}
			return runs
		},
		Verdicts: func(runs []Run) (map[netip.AddrPort]string, error) {
			out := map[netip.AddrPort]string{}
			for _, r := range runs {
				err := eachLine(r.Out, func(line []byte) error {
					var z struct {
						IP   netip.Addr `json:"ip"`
						Data map[string]struct {
							Status string          `json:"status"`
							Result json.RawMessage `json:"result"`
						} `json:"data"`
					}
					if err := json.Unmarshal(line, &z); err != nil {
						return err
					}
					for mod, d := range z.Data {
						if d.Status != "success" {
							continue
						}
						out[netip.AddrPortFrom(z.IP, uint16(r.Port))] = zgrabVerdict(mod, string(d.Result))
					}
					return nil
				})
				if err != nil {
					return nil, err
				}
			}
			return out, nil
		},
	}
}

// zgrabVerdict reads what zgrab2's result states. Its redis module sends
// PING and INFO, so it shows data or NOAUTH; the banner probe shows memcached
// stats or the auth error; mysql and postgres stop at the greeting or a
// startup error and state nothing about authentication.
func zgrabVerdict(mod, result string) string {
	switch {
	case mod == "redis" && strings.Contains(result, "redis_version"):
		return string(gown.StatusOpen)
	case mod == "redis" && strings.Contains(result, "NOAUTH"):
		return string(gown.StatusAuthRequired)
	case mod == "banner" && strings.Contains(result, "STAT pid"):
		return string(gown.StatusOpen)
	case mod == "banner" && strings.Contains(result, "unauthenticated"):
		return string(gown.StatusAuthRequired)
	}
	return Undecided
}

// Nmap runs a connect scan with version detection and the stores' info
// scripts (plus mysql-empty-password, which is gown's own MySQL check: one
// login as root with no password; no brute-force script), on every port of
// the list.
func Nmap(bin string, flags ...string) Tool {
	return Tool{
		Name: "nmap",
		Runs: func(l List, dir string) []Run {
			xml := filepath.Join(dir, "nmap.xml")
			args := append([]string{bin, "-sT", "-sV", "-n", "-Pn"}, flags...)
			args = append(args, "-p", portList(),
				"--script", "redis-info,mysql-info,mysql-empty-password,memcached-info",
				"-iL", l.Path, "-oX", xml)
			return []Run{{Args: args, Out: xml}}
		},
		Verdicts: func(runs []Run) (map[netip.AddrPort]string, error) {
			f, err := os.Open(runs[0].Out)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			var run struct {
				Hosts []struct {
					Addr struct {
						Addr string `xml:"addr,attr"`
					} `xml:"address"`
					Ports []struct {
						ID    uint16 `xml:"portid,attr"`
						State struct {
							State string `xml:"state,attr"`
						} `xml:"state"`
						Scripts []struct {
							ID     string `xml:"id,attr"`
							Output string `xml:"output,attr"`
						} `xml:"script"`
					} `xml:"ports>port"`
				} `xml:"host"`
			}
			if err := xml.NewDecoder(bufio.NewReader(f)).Decode(&run); err != nil {
				return nil, fmt.Errorf("nmap XML: %w", err)
			}
			out := map[netip.AddrPort]string{}
			for _, h := range run.Hosts {
				a, err := netip.ParseAddr(h.Addr.Addr)
				if err != nil {
					return nil, err
				}
				for _, p := range h.Ports {
					if p.State.State != "open" {
						continue
					}
					v := Undecided
					for _, s := range p.Scripts {
						if w := nmapVerdict(s.ID, s.Output); w != Undecided {
							v = w
						}
					}
					out[netip.AddrPortFrom(a, p.ID)] = v
				}
			}
			return out, nil
		},
	}
}

// nmapVerdict reads what one script states. redis-info and memcached-info
// print the server's facts when they got them and nothing otherwise;
// mysql-empty-password names the account that has none.
func nmapVerdict(id, output string) string {
	switch {
	case id == "redis-info" && strings.Contains(output, "Version"):
		return string(gown.StatusOpen)
	case id == "memcached-info" && strings.Contains(output, "Process ID"):
		return string(gown.StatusOpen)
	case id == "mysql-empty-password" && strings.Contains(output, "has empty password"):
		return string(gown.StatusOpen)
	case strings.Contains(output, "NOAUTH"), strings.Contains(output, "unauthenticated"),
		strings.Contains(output, "Authentication required"):
		return string(gown.StatusAuthRequired)
	}
	return Undecided
}

// Score compares a tool's verdicts with the farm's truth: right is the
// endpoints whose verdict matches, wrong counts the others by kind and what
// the tool said, and extra counts answered targets that are not farm
// endpoints (none should be).
type Score struct {
	Right, Total int
	Wrong        map[string]int // "mysql auth-required→undecided" → count
	Extra        int
}

// ScoreVerdicts scores got against the farm.
func ScoreVerdicts(farm []Endpoint, got map[netip.AddrPort]string) Score {
	s := Score{Total: len(farm), Wrong: map[string]int{}}
	known := make(map[netip.AddrPort]bool, len(farm))
	for _, e := range farm {
		known[e.Addr] = true
		v := got[e.Addr]
		if v == string(e.Want) {
			s.Right++
			continue
		}
		if v == "" {
			v = "nothing"
		}
		s.Wrong[fmt.Sprintf("%s %s→%s", e.Kind, e.Want, v)]++
	}
	for a := range got {
		if !known[a] {
			s.Extra++
		}
	}
	return s
}

func portList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = strconv.Itoa(Ports[k])
	}
	return strings.Join(s, ",")
}

func safe(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, name)
}

func eachLine(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return sc.Err()
}

// GownURLs scans the list with every target given as a URL whose scheme
// names its store (redis://host:port, ...): the protocols given, the way
// zgrab2 is given its module. The URL list is written beside the outputs.
func GownURLs(bin, name string, extra ...string) Tool {
	t := Gown(bin, name, extra...)
	t.Runs = func(l List, dir string) []Run {
		urls := filepath.Join(dir, "urls-"+filepath.Base(l.Path))
		if err := WriteURLs(l.Path, urls); err != nil {
			urls = l.Path + ".unwritable" // gown then fails, and the table says so
		}
		args := append([]string{bin, "scan", "-l", urls, "--json", "-q"}, extra...)
		return []Run{{Args: args, Out: filepath.Join(dir, safe(name)+".jsonl")}}
	}
	return t
}

// WriteURLs turns a hosts list into one URL per host and store port.
func WriteURLs(hosts, path string) error {
	hs, err := ReadHosts(hosts)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, h := range hs {
		for _, k := range Kinds {
			fmt.Fprintf(w, "%s://%s\n", k, netip.AddrPortFrom(h, uint16(Ports[k])))
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
