package firebase

import (
	"slices"
	"strings"
	"testing"
)

func TestReadTree(t *testing.T) {
	cases := []struct {
		in       string
		kind     string
		count    int
		children []int
		more     bool
		fails    bool
	}{
		{`{"users":true,"n":3}`, kindObject, 2, []int{-1, -1}, false, false},
		{`{"users":{"u1":{"x":1},"u2":{}},"list":[1,2,3]}`, kindObject, 2, []int{2, 3}, false, false},
		{` null `, kindNull, 0, nil, false, false},
		{`42`, kindValue, 0, nil, false, false},
		{`[{"a":1},[]]`, kindArray, 2, []int{1, 0}, false, false},
		{`{}`, kindObject, 0, nil, false, false},
		{`{"a":true,"b":{"c"`, kindObject, 1, []int{-1}, true, true},
		{`{"a":1}{"b":2}`, kindObject, 1, []int{-1}, false, true},
		{`<html>`, "", 0, nil, false, true},
		{``, "", 0, nil, false, true},
	}
	for _, c := range cases {
		tr, err := readTree([]byte(c.in))
		var kids []int
		for _, k := range tr.keys {
			kids = append(kids, k.children)
		}
		if tr.kind != c.kind || tr.count != c.count || tr.more != c.more || (err != nil) != c.fails || !slices.Equal(kids, c.children) {
			t.Errorf("readTree(%s) = %+v, %v", c.in, tr, err)
		}
	}
}

func TestReadTreeDeep(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	tr, err := readTree([]byte(deep))
	if err != nil || tr.count != 1 || tr.keys[0].children != 1 {
		t.Errorf("deep: %+v %v", tr, err)
	}
}
