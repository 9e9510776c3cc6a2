package target

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

// inputConfig is a config with DNS answering from dns and refusals logged.
func inputConfig(t *testing.T, dns func(context.Context, string) ([]netip.Addr, error)) (*Config, *[]string) {
	t.Helper()
	res := NewResolver()
	res.dns = dns
	var refused []string
	cfg := &Config{Catalog: catalog, Ports: []int{6379}, Resolve: res,
		OnError: func(spec string, err error) { refused = append(refused, spec+": "+err.Error()) }}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg, &refused
}

func noDNS(t *testing.T) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		t.Errorf("DNS asked about %q", host)
		return nil, errors.New("no DNS here")
	}
}

func writeList(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLongLineNamesListAndLine checks that a line past MaxLine stops the
// list with its file and line number (blank and comment lines counted),
// after the targets before it were sent. Before, the error was
// "bufio.Scanner: token too long", with neither.
func TestLongLineNamesListAndLine(t *testing.T) {
	cfg, _ := inputConfig(t, noDNS(t))
	path := writeList(t, "127.0.0.1:1\n# a comment\n\n127.0.0.1:2\n"+strings.Repeat("a", 10<<20)+"\n127.0.0.1:3\n")
	out := make(chan gown.Target, 8)
	err := Input{Lists: []string{path}}.Produce(t.Context(), cfg, out)
	t.Logf("%v", err)
	var le *ListError
	var line *LineError
	if !errors.As(err, &le) || le.Name != path || !errors.As(err, &line) || line.Line != 5 ||
		!errors.Is(err, ErrLineTooLong) || !strings.Contains(err.Error(), path+": line 5: longer than the 64 KiB") {
		t.Errorf("Produce = %v; want a ListError naming %s, line 5, too long", err, path)
	}
	if len(out) != 2 {
		t.Errorf("%d targets sent before the long line, want 2", len(out))
	}
	// Count reads the list too, and gives up on it (0: unknown) alike.
	if n := (Input{Lists: []string{path}}).Count(t.Context(), cfg); n != 0 {
		t.Errorf("Count = %d, want 0 for a list it cannot read", n)
	}
}

// TestCheckLists checks that a list that cannot be read is found before
// anything is produced, named as given.
func TestCheckLists(t *testing.T) {
	dir := t.TempDir()
	ok := writeList(t, "127.0.0.1\n")
	for _, c := range []struct{ list, why string }{
		{filepath.Join(dir, "missing.txt"), "no such file"},
		{dir, "is a folder"},
	} {
		err := Input{Lists: []string{ok, "-", c.list}}.Check()
		var le *ListError
		if !errors.As(err, &le) || le.Name != c.list || !strings.Contains(err.Error(), c.why) {
			t.Errorf("Check(%s) = %v; want a ListError saying %q", c.list, err, c.why)
		}
	}
	if err := (Input{Lists: []string{ok, "-"}}).Check(); err != nil {
		t.Errorf("Check of a readable list and stdin: %v", err)
	}
}

// TestStartRefusesAnInputWithNothingToScan checks Start on inputs whose
// every target is refused, or that hold none: gown.ErrNoTargets with the
// count, each refusal reported, nothing sent and no DNS asked.
func TestStartRefusesAnInputWithNothingToScan(t *testing.T) {
	for _, c := range []struct {
		in      Input
		refused int
		why     string
	}{
		{Input{Specs: []string{"256.1.1.1:6379", "[::1", "-l"}}, 3, "all 3 targets given were refused"},
		{Input{Lists: []string{writeList(t, "256.1.1.1:6379\nfoo..bar\n")}}, 2, "all 2 targets given were refused"},
		{Input{Specs: []string{"10.0.0.0/4"}}, 1, "the one target given was refused"}, // above --max-cidr
		{Input{Lists: []string{writeList(t, "# nothing but comments\n\n")}}, 0, "the input holds none"},
		{Input{Lists: []string{"-"}, Stdin: strings.NewReader("")}, 0, "the input holds none"},
	} {
		cfg, refused := inputConfig(t, noDNS(t))
		s, err := c.in.Start(t.Context(), cfg)
		if s != nil || !errors.Is(err, gown.ErrNoTargets) || !strings.Contains(err.Error(), c.why) || len(*refused) != c.refused {
			t.Errorf("Start(%+v) = %v, %v; %d refused; want ErrNoTargets saying %q, %d refused", c.in, s, err, len(*refused), c.why, c.refused)
			continue
		}
		t.Logf("%v", err)
	}
}

// TestStartTellsDNSFailureFromBadNames checks the line between a bad input
// and a failed run: names DNS says do not exist are the input's fault
// (ErrNoTargets), names DNS could not look up are not.
func TestStartTellsDNSFailureFromBadNames(t *testing.T) {
	answer := func(notFound bool) func(context.Context, string) ([]netip.Addr, error) {
		return func(_ context.Context, host string) ([]netip.Addr, error) {
			return nil, &net.DNSError{Err: "refused", Name: host, IsNotFound: notFound, IsTemporary: !notFound}
		}
	}
	cfg, _ := inputConfig(t, answer(true))
	if _, err := (Input{Specs: []string{"gone.example"}}).Start(t.Context(), cfg); !errors.Is(err, gown.ErrNoTargets) {
		t.Errorf("no such host: Start = %v, want ErrNoTargets", err)
	}
	cfg, _ = inputConfig(t, answer(false))
	_, err := Input{Specs: []string{"db.example", "256.1.1.1"}}.Start(t.Context(), cfg)
	if err == nil || errors.Is(err, gown.ErrNoTargets) || !strings.Contains(err.Error(), "DNS failed for 1 of the 2 targets") {
		t.Errorf("DNS down: Start = %v; want an error that is not ErrNoTargets, saying DNS failed for 1 of 2", err)
	}
}

// TestStartThenProduce checks that a started input sends every target, the
// first included, in order, after refusing the bad ones, and that Stop
// ends a production nobody reads.
func TestStartThenProduce(t *testing.T) {
	cfg, refused := inputConfig(t, noDNS(t))
	in := Input{Specs: []string{"256.1.1.1", "127.0.0.1:1", "127.0.0.2:2"},
		Lists: []string{writeList(t, "-bad-\n127.0.0.3:3\n")}}
	s, err := in.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan gown.Target, 8)
	if err := s.Produce(t.Context(), out); err != nil {
		t.Fatal(err)
	}
	close(out)
	var got []string
	for tg := range out {
		got = append(got, gown.TargetKey(tg))
	}
	if strings.Join(got, " ") != "127.0.0.1:1 127.0.0.2:2 127.0.0.3:3" || len(*refused) != 2 {
		t.Errorf("produced %v with %d refused; want the three good targets in order, 2 refused", got, len(*refused))
	}

	s, err = Input{Specs: []string{"127.0.0.0/24"}}.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Produce(ctx, make(chan gown.Target)); !errors.Is(err, context.Canceled) {
		t.Errorf("Produce after Stop and cancel = %v, want context.Canceled", err)
	}
}
