package scenarios

import (
	"errors"
	"testing"
)

// FuzzParse checks that the loader never panics, whatever the bytes, and that a
// scenario it accepts satisfies the invariants the drivers rely on. The seed corpus is
// testdata/fuzz/FuzzParse (shipped files and broken variants) plus every shipped file
// added here, so new shipped scenarios are seeds automatically.
//
//	go test ./scenarios -run '^$' -fuzz FuzzParse -fuzztime 30s -fuzzminimizetime 3s
//
// (without -fuzzminimizetime the engine spends up to 60s minimizing each new input of
// several KB, which looks like a stall on a busy machine).
func FuzzParse(f *testing.F) {
	for _, name := range Shipped() {
		data, err := ShippedSource(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.toml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not a *scenarios.Error: %T %v", err, err)
			}
			return
		}
		if s.Duration <= 0 {
			t.Fatalf("accepted a run.duration of %v", s.Duration)
		}
		total := 0
		for _, g := range s.Cells {
			total += g.Count
			if g.MemoryMB <= 0 || g.DiskMB <= 0 || g.Containers <= 0 || len(g.Zones) == 0 {
				t.Fatalf("accepted cell group %+v", g)
			}
		}
		if total == 0 {
			t.Fatal("accepted a scenario without cells")
		}
		for _, g := range s.Apps {
			if g.MemoryMB <= 0 || g.DiskMB <= 0 || g.Count <= 0 || g.Instances < 0 {
				t.Fatalf("accepted app group %+v", g)
			}
			if g.Count < 1000 {
				d := g.DesiredLRP(g.Count - 1)
				if err := d.Validate(); err != nil {
					t.Fatalf("accepted app group %+v whose DesiredLRP is invalid: %v", g, err)
				}
			}
		}
		for _, g := range s.Tasks {
			task := g.Task(0)
			if err := task.Validate(); err != nil {
				t.Fatalf("accepted task group %+v whose Task is invalid: %v", g, err)
			}
		}
		for _, e := range s.Events {
			if e.At < 0 || e.At > s.Duration {
				t.Fatalf("accepted event at %v in a run of %v", e.At, s.Duration)
			}
		}
		// Overrides on an accepted scenario must not panic either.
		_, _ = Parse("fuzz.toml", data, "run.seed=2", "apps.a.instances=1", "cells.cell.count=x")
	})
}
