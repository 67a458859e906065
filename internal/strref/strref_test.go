package strref

import (
	"strings"
	"testing"
)

// TestSame: a string is the same reference as itself and its own full slice; an equal
// copy, a prefix of it and another string are not; two empty strings of one origin are.
func TestSame(t *testing.T) {
	a := strings.Repeat("guid-", 3)
	cp := strings.Clone(a)
	tests := []struct {
		name string
		x, y string
		want bool
	}{
		{"itself", a, a, true},
		{"full slice", a, a[:], true},
		{"equal copy", a, cp, false},
		{"prefix", a, a[:4], false},
		{"suffix of the same length", a[1:], a[:len(a)-1], false},
		{"other", a, "other", false},
		{"empty of one origin", a[:0], a[:0], true},
	}
	for _, tc := range tests {
		if got := Same(tc.x, tc.y); got != tc.want {
			t.Errorf("%s: Same(%q, %q) = %v, want %v", tc.name, tc.x, tc.y, got, tc.want)
		}
	}
}
