package model

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// TestValidTaskGUID: the hand-written check accepts exactly what the BBS's pattern
// ^[a-zA-Z0-9_-]+$ accepts, over every single byte, fixed cases and random strings.
func TestValidTaskGUID(t *testing.T) {
	re := regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	cases := []string{"", "a", "task-1", "Task_2", "a b", "a\n", "\na", "é", "a.b", "-", "_", "a/b", "x\x00"}
	for c := range 256 {
		cases = append(cases, string([]byte{byte(c)}), "ab"+string([]byte{byte(c)}))
	}
	r := rand.New(rand.NewPCG(5, 0))
	for range 5000 {
		b := make([]byte, 1+r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(128))
			if r.IntN(3) > 0 {
				b[i] = "abcXYZ019_-"[r.IntN(11)]
			}
		}
		cases = append(cases, string(b))
	}
	for _, g := range cases {
		if got, want := validTaskGUID(g), re.MatchString(g); got != want {
			t.Fatalf("%q: got %v, want %v", g, got, want)
		}
	}
}
