package model

import "testing"

// TestCompareActualLRPs: rows order by process guid (bytes, so "a10" < "a9"), then
// index (numerically), then presence; only key and presence count.
func TestCompareActualLRPs(t *testing.T) {
	row := func(g string, i int, p Presence) ActualLRP {
		return ActualLRP{ActualLRPKey: ActualLRPKey{ProcessGUID: g, Index: i}, Presence: p}
	}
	tests := []struct {
		name string
		a, b ActualLRP
		want int // sign
	}{
		{"guid first", row("a", 9, Suspect), row("b", 0, Ordinary), -1},
		{"guid by bytes", row("a10", 0, Ordinary), row("a9", 0, Ordinary), -1},
		{"index numerically", row("a", 2, Ordinary), row("a", 10, Ordinary), -1},
		{"index before presence", row("a", 1, Suspect), row("a", 2, Ordinary), -1},
		{"presence last", row("a", 1, Ordinary), row("a", 1, Evacuating), -1},
		{"evacuating before suspect", row("a", 1, Evacuating), row("a", 1, Suspect), -1},
		{"equal keys", row("a", 1, Ordinary), row("a", 1, Ordinary), 0},
		{"other fields ignored", ActualLRP{ActualLRPKey: ActualLRPKey{ProcessGUID: "a"}, State: Running, CrashCount: 2},
			ActualLRP{ActualLRPKey: ActualLRPKey{ProcessGUID: "a"}, State: Crashed}, 0},
	}
	sign := func(x int) int { return min(max(x, -1), 1) }
	for _, tc := range tests {
		if got := sign(CompareActualLRPs(tc.a, tc.b)); got != tc.want {
			t.Errorf("%s: CompareActualLRPs = %d, want %d", tc.name, got, tc.want)
		}
		if got := sign(CompareActualLRPs(tc.b, tc.a)); got != -tc.want {
			t.Errorf("%s (swapped): CompareActualLRPs = %d, want %d", tc.name, got, -tc.want)
		}
	}
}
