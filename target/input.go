package target

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/gownscan/gown"
)

// Input is where a scan's targets come from: specs given as arguments, and
// list files of one spec per line ("-" names Stdin).
type Input struct {
	Specs []string
	Lists []string
	Stdin io.Reader
}

// ReadsStdin reports whether the input reads standard input, which cannot
// be read twice (a resumed scan cannot read it again).
func (in Input) ReadsStdin() bool {
	return slices.Contains(in.Specs, "-") || slices.Contains(in.Lists, "-")
}

// Produce streams every target of the specs, then of the lists, in order.
// A spec "-" stands for a list on Stdin.
func (in Input) Produce(ctx context.Context, cfg *Config, out chan<- gown.Target) error {
	lists := slices.Clone(in.Lists)
	for _, s := range in.Specs {
		if s == "-" {
			lists = append(lists, "-")
			continue
		}
		if err := Expand(ctx, cfg, s, out); err != nil {
			return err
		}
	}
	for _, name := range lists {
		if err := in.produceList(ctx, cfg, name, out); err != nil {
			return err
		}
	}
	return nil
}

func (in Input) produceList(ctx context.Context, cfg *Config, name string, out chan<- gown.Target) error {
	r := in.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("target list: %w", err)
		}
		defer f.Close()
		r = f
	}
	if r == nil {
		return fmt.Errorf("target list %s: no standard input", name)
	}
	var expandErr error
	err := Lines(r, func(line string) bool {
		expandErr = Expand(ctx, cfg, line, out)
		return expandErr == nil
	})
	if expandErr != nil {
		return expandErr
	}
	if err != nil {
		return fmt.Errorf("target list %s: %w", strings.TrimSpace(name), err)
	}
	return nil
}

// Count is how many targets the input expands to, as far as the specs
// alone tell, without resolving or dialling: a CIDR counts its addresses
// times the ports, a host or address the ports (one when it names its own);
// list files are read a second time, line by line. It overshoots by what
// expansion skips (names that do not resolve), which only ends a progress
// line short of 100%. Standard input cannot be read twice: then the count
// is unknown, 0.
func (in Input) Count(ctx context.Context, cfg *Config) int64 {
	if in.ReadsStdin() {
		return 0
	}
	var n uint64
	add := func(spec string) { n = min(n+specSize(cfg, spec), math.MaxInt64) } // saturates, never wraps
	for _, s := range in.Specs {
		add(s)
	}
	for _, name := range in.Lists {
		f, err := os.Open(name)
		if err != nil {
			return 0
		}
		err = Lines(f, func(line string) bool {
			add(line)
			return ctx.Err() == nil
		})
		f.Close()
		if err != nil || ctx.Err() != nil {
			return 0
		}
	}
	return int64(n)
}

// specSize is how many targets one spec expands to, as far as the spec
// alone tells.
func specSize(cfg *Config, raw string) uint64 {
	sp, err := Parse(raw, cfg.Catalog)
	if err != nil {
		return 0
	}
	ports := uint64(len(cfg.Ports))
	if sp.Port != 0 {
		ports = 1
	}
	if sp.Prefix.IsValid() {
		bits := sp.Prefix.Addr().BitLen() - sp.Prefix.Bits()
		if bits >= 64 || uint64(1)<<bits > cfg.MaxCIDR {
			return 0 // refused by expansion: above --max-cidr
		}
		size := uint64(1) << bits
		if ports > 0 && size > math.MaxInt64/ports {
			return math.MaxInt64 // so that sums of two cannot wrap
		}
		return size * ports
	}
	a, _ := netip.ParseAddr(sp.Host) // an address literal is checked against excluded networks too
	if cfg.Scope.Excluded(sp.Host, a) {
		return 0
	}
	return ports
}
