package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	for _, c := range []struct {
		now, total, elapsed time.Duration
		want                string
	}{
		// a quarter of the run in 10 s: three quarters take 30 s more
		{15 * time.Minute, time.Hour, 10 * time.Second, "x: 15m0s of 1h0m0s simulated (25.0%), 10s elapsed, about 30s left"},
		{0, time.Hour, 3 * time.Second, "x: 0s of 1h0m0s simulated (0.0%), 3s elapsed, time left not known yet"},
		{time.Hour, time.Hour, 40 * time.Second, "x: 1h0m0s of 1h0m0s simulated (100.0%), 40s elapsed, finishing"},
	} {
		if got := progressLine("x", c.now, c.total, c.elapsed); got != c.want {
			t.Errorf("progressLine(%s, %s, %s) = %q, want %q", c.now, c.total, c.elapsed, got, c.want)
		}
	}
}

// TestProgressQuiet: no line with -q, nor when stderr is not a terminal (as under go
// test), and a nil progress is safe to use.
func TestProgressQuiet(t *testing.T) {
	if p := newSimProgress("x", time.Hour, true); p != nil {
		t.Fatal("quiet gave a progress line")
	}
	p := newSimProgress("x", time.Hour, false) // stderr is a file or a pipe here
	if p != nil {
		t.Fatal("a progress line on a stderr that is not a terminal")
	}
	p.building(1, 2)
	p.begin()
	p.update(time.Minute)
	p.done()
}

// TestProgressRedraw: lines are rewritten in place, padded over a longer one, and ended
// with a newline.
func TestProgressRedraw(t *testing.T) {
	var b bytes.Buffer
	p := &simProgress{w: &b, name: "x", total: time.Hour}
	p.building(10, 100)
	p.begin()
	p.update(30 * time.Minute)
	p.update(31 * time.Minute) // within progressRedraw: not drawn
	p.done()
	out := b.String()
	if strings.Count(out, "\r") != 2 || !strings.HasSuffix(out, "\n") || strings.Contains(out, "31m0s") {
		t.Fatalf("output %q: want two drawn lines, then a newline", out)
	}
	if !strings.Contains(out, "x: building 10 cells and 100 instances\r") || !strings.Contains(out, "x: 30m0s of 1h0m0s simulated (50.0%)") {
		t.Fatalf("output %q", out)
	}
}
