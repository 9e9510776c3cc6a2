package js

import (
	"slices"
	"strings"
	"testing"
)

// bundle is minified JavaScript as Metro and webpack write it, with the
// host and port of each back end kept in names apart from the scheme.
const bundle = `var e=require(1),REDIS_HOST="cache.northwind.com",REDIS_PORT=6379,t='api.northwind.com';
/* a comment with "quotes" and + signs */ // and another "x" + y
__d(function(g,r,i,a,m,e,d){const u="redis://"+REDIS_HOST+":"+REDIS_PORT+"/0";
fetch(` + "`https://${t}:8443/v1/login`" + `);var w=` + "`wss://${t}/socket?id=${userId}`" + `;
var n="https://"+t.length;var s="a"=="b"?1:2;x="lit"+"eral";if(a==REDIS_HOST){}
var dup="one.example.net";function f(){var dup="two.example.net";return "http://"+dup}});
const config={API_HOST:"api.northwind.com",'PORT':8443,n:a?b:"x"};fetch("https://"+config.API_HOST+":"+config.PORT+"/v2");
var o={host:"a.example.net"},p={host:"b.example.net"};fetch("https://"+o.host);`

// TestBuiltStrings: the concatenation and the template over known names,
// and a concatenation over an object literal's properties, are built, each
// part placed at its literal; a template with an unknown name, a property
// two objects give different values, literals alone and a name assigned
// two values are not.
func TestBuiltStrings(t *testing.T) {
	var got []string
	BuiltStrings([]byte(bundle), func(b Built) bool {
		var parts []string
		for _, p := range b.Parts {
			parts = append(parts, p.Text)
			if p.Off < 0 || p.Off+len(p.Text) > len(bundle) || bundle[p.Off:p.Off+len(p.Text)] != p.Text {
				t.Errorf("%s: part %q not at %d", b.Value, p.Text, p.Off)
			}
		}
		got = append(got, b.Value+" = "+strings.Join(parts, " | "))
		return true
	})
	want := []string{
		"redis://cache.northwind.com:6379/0 = redis:// | cache.northwind.com | : | 6379 | /0",
		"https://api.northwind.com:8443/v1/login = https:// | api.northwind.com | :8443/v1/login",
		"https://api.northwind.com:8443/v2 = https:// | api.northwind.com | : | 8443 | /v2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("built:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzBuiltStrings: any text gives built strings within the caps, each
// part inside the text, without a panic. Seeds: the bundle above and
// testdata/fuzz/FuzzBuiltStrings.
func FuzzBuiltStrings(f *testing.F) {
	f.Add([]byte(bundle))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		BuiltStrings(b, func(bt Built) bool {
			n++
			if len(bt.Value) > maxValue+maxLiteral || len(bt.Parts) > maxParts+1 || len(bt.Parts) < 2 {
				t.Fatalf("built %d bytes from %d parts", len(bt.Value), len(bt.Parts))
			}
			for _, p := range bt.Parts {
				if p.Off < 0 || p.Off > len(b) {
					t.Fatalf("part at %d outside %d bytes", p.Off, len(b))
				}
			}
			return true
		})
		if n > maxOut {
			t.Fatalf("%d built strings", n)
		}
	})
}
