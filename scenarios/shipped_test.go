package scenarios

import (
	"testing"
)

// TestShippedScenarios loads every shipped scenario: no error, no warning, and the
// figures their comments promise.
func TestShippedScenarios(t *testing.T) {
	want := []string{"az-outage", "binpack", "cell-crash", "crashing-apps", "diego-250k-mix", "docker-pull-cost", "docker-unpredictable-scaling", "gpu-sharing", "placement-constraints", "private-image", "quickstart", "registry-outage", "rolling-upgrade"}
	got := Shipped()
	if len(got) != len(want) {
		t.Fatalf("Shipped() = %v, want %v", got, want)
	}
	for i, name := range want {
		if got[i] != name {
			t.Fatalf("Shipped() = %v, want %v", got, want)
		}
		t.Run(name, func(t *testing.T) {
			s, err := LoadShipped(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Warnings) != 0 {
				t.Errorf("warnings: %q", s.Warnings)
			}
			if s.Name != name || s.Description == "" {
				t.Errorf("name %q description %q", s.Name, s.Description)
			}
		})
	}
}

// footprint sums a scenario's cells and app instances.
func footprint(s *Scenario) (cells, cellMem, apps, instances, instMem int) {
	for _, g := range s.Cells {
		cells += g.Count
		cellMem += g.Count * g.MemoryMB
	}
	for _, g := range s.Apps {
		apps += g.Count
		instances += g.Count * g.Instances
		instMem += g.Count * g.Instances * g.MemoryMB
	}
	return
}

func TestShippedFigures(t *testing.T) {
	tests := []struct {
		name                                     string
		cells, cellMem, apps, instances, instMem int
	}{
		// quickstart: 100 x 32768; 150x8x512 + 50x20x1024 + 100x4x768 + 400x1x256.
		{"quickstart", 100, 3_276_800, 700, 3000, 2_048_000},
		// DIEGO.md §8: 200,000 LRPs, 250,000 instances, 28,480 GB on 1000 cells.
		{"diego-250k-mix", 1000, 32_768_000, 200_000, 250_000, 28_480_000},
		// binpack: half full.
		{"binpack", 20, 655_360, 80, 320, 327_680},
	}
	for _, tt := range tests {
		s, err := LoadShipped(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		c, cm, a, in, im := footprint(s)
		if c != tt.cells || cm != tt.cellMem || a != tt.apps || in != tt.instances || im != tt.instMem {
			t.Errorf("%s: cells %d (%d MB), apps %d, instances %d (%d MB); want %d (%d MB), %d, %d (%d MB)",
				tt.name, c, cm, a, in, im, tt.cells, tt.cellMem, tt.apps, tt.instances, tt.instMem)
		}
	}
	s, _ := LoadShipped("diego-250k-mix")
	containers := 0
	for _, g := range s.Cells {
		containers += g.Count * g.Containers
	}
	if containers < 250_000 {
		t.Errorf("diego-250k-mix has %d container slots for 250,000 instances", containers)
	}
}

func BenchmarkParseShipped(b *testing.B) {
	for _, name := range []string{"quickstart", "rolling-upgrade"} {
		data, err := ShippedSource(name)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(name+".toml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
