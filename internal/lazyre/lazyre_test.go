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

func TestCompileAllPanicsOnABadPattern(t *testing.T) {
	bad := New(`a(`)
	defer func() {
		if recover() == nil {
			t.Fatal("a bad pattern did not panic")
		}
		mu.Lock()
		all = all[:len(all)-1] // leave the registry as it was
		mu.Unlock()
	}()
	_ = bad
	CompileAll()
}
