package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/netip"
	"os"
	"slices"

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
			return listError(name, err)
		}
		defer f.Close()
		r = f
	}
	if r == nil {
		return &ListError{Name: name, Err: errors.New("no standard input")}
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
		return listError(name, err)
	}
	return nil
}

// ListError is a target list that cannot be read: it cannot be opened, is
// a folder, or holds a line Lines refuses (a *LineError, which gives the
// line's number). Name is the list as given, "-" for standard input.
type ListError struct {
	Name string
	Err  error
}

func (e *ListError) Error() string {
	if e.Name == "-" {
		return fmt.Sprintf("target list on standard input: %v", e.Err)
	}
	return fmt.Sprintf("target list %s: %v", e.Name, e.Err)
}

func (e *ListError) Unwrap() error { return e.Err }

// listError drops the path an *fs.PathError repeats.
func listError(name string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	}
	return &ListError{Name: name, Err: err}
}

// Check opens each list file and closes it again, so that a list that
// cannot be read is found before a scan is recorded, not after the specs
// before it were probed.
func (in Input) Check() error {
	for _, name := range in.Lists {
		if name == "-" {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return listError(name, err)
		}
		st, err := f.Stat()
		f.Close()
		switch {
		case err != nil:
			return listError(name, err)
		case st.IsDir():
			return &ListError{Name: name, Err: errors.New("is a folder, not a file of targets")}
		}
	}
	return nil
}

// Started is an input whose first target is ready: see Input.Start.
type Started struct {
	first  gown.Target
	next   <-chan gown.Target
	errc   <-chan error
	cancel context.CancelFunc
}

// Start begins producing in's targets on a goroutine and returns once the
// first one is ready, so that a caller records a scan only when there is
// something to scan. When the input ends first, the error is the input's
// own (a *ListError), or says that DNS failed for some of the specs, or
// else wraps gown.ErrNoTargets: the input is at fault, as every spec was
// refused (malformed, excluded, no such host; each went to cfg.OnError as
// in Produce) or there was none. Otherwise Produce sends that first target and the rest; Stop
// ends the production when Produce will not be called.
func (in Input) Start(ctx context.Context, cfg *Config) (*Started, error) {
	ctx, cancel := context.WithCancel(ctx)
	c := *cfg
	refused, dnsFailed := 0, 0 // written by the producer, read once next is closed
	c.OnError = func(spec string, err error) {
		refused++
		if de, ok := errors.AsType[*net.DNSError](err); ok && !de.IsNotFound {
			dnsFailed++
		}
		cfg.OnError(spec, err)
	}
	next := make(chan gown.Target)
	errc := make(chan error, 1)
	go func() {
		defer close(next)
		errc <- in.Produce(ctx, &c, next)
	}()
	first, ok := <-next
	if ok {
		return &Started{first: first, next: next, errc: errc, cancel: cancel}, nil
	}
	cancel()
	switch err := <-errc; {
	case err != nil:
		return nil, err
	case dnsFailed > 0:
		// Not the input's fault: DNS could not answer (a timeout, no
		// server), where "no such host" says the name is wrong.
		return nil, fmt.Errorf("no target to scan: DNS failed for %d of the %d targets given (the reasons are above)", dnsFailed, refused)
	case refused == 1:
		return nil, fmt.Errorf("%w: the one target given was refused (the reason is above)", gown.ErrNoTargets)
	case refused > 1:
		return nil, fmt.Errorf("%w: all %d targets given were refused (the reasons are above)", gown.ErrNoTargets, refused)
	}
	return nil, fmt.Errorf("%w: the input holds none, only blank lines and comments", gown.ErrNoTargets)
}

// Produce sends the first target, then the rest as the input gives them,
// and returns the input's error, or ctx's when ctx ends first. It is a
// scan.Source, called once.
func (s *Started) Produce(ctx context.Context, out chan<- gown.Target) error {
	defer s.cancel()
	if err := send(ctx, out, s.first); err != nil {
		return err
	}
	for {
		select {
		case t, ok := <-s.next:
			if !ok {
				return <-s.errc
			}
			if err := send(ctx, out, t); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stop ends the production of a started input whose Produce will not be
// called (the scan could not begin).
func (s *Started) Stop() { s.cancel() }

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
