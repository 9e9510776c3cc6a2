package lazyre

import "testing"

func TestCompiledOnFirstUseOnly(t *testing.T) {
	r := New(`^a(b+)c$`)
	if r.re != nil {
		t.Fatal("compiled before use")
	}
	if r.String() != `^a(b+)c$` || r.re != nil {
		t.Fatal("String compiled the pattern or changed it")
	}
	if !r.MatchString("abbc") || r.MatchString("ac") {
		t.Fatal("wrong matches")
	}
	if m := r.FindStringSubmatch("abbbc"); len(m) != 2 || m[1] != "bbb" {
		t.Fatalf("submatch %q", m)
	}
}

func init() { TrackOrigins() }

// made is a helper that makes patterns, as assess's rule tables do.
func made(src string) *Regexp { return New(src) }

func TestAllAndPackage(t *testing.T) {
	direct := New(`^direct$`)
	helped := made(`^helped$`)
	inClosure := func() *Regexp { return New(`^closure$`) }()
	got := All()
	if len(got) < 3 || got[len(got)-3] != direct || got[len(got)-2] != helped || got[len(got)-1] != inClosure {
		t.Fatalf("All does not end with the patterns just made, in order: %v", got)
	}
	for _, r := range []*Regexp{direct, helped, inClosure} {
		if p := r.Package(); p != "github.com/gownscan/gown/internal/lazyre" {
			t.Errorf("%s made in package %q", r, p)
		}
		if r.re != nil {
			t.Errorf("%s compiled by All or Package", r)
		}
	}
}

func TestFuncPackage(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/gownscan/gown/assess.init":               "github.com/gownscan/gown/assess",
		"github.com/gownscan/gown/assess.compileRules.func1": "github.com/gownscan/gown/assess",
		"github.com/gownscan/gown/extract/rules.(*Rule).set": "github.com/gownscan/gown/extract/rules",
		"gopkg.in/yaml%2ev3.(*parser).init":                  "gopkg.in/yaml.v3",
		"main.main":                                          "main",
		"regexp.MustCompile":                                 "regexp",
	} {
		if got := funcPackage(fn); got != want {
			t.Errorf("funcPackage(%q) = %q, want %q", fn, got, want)
		}
	}
}
