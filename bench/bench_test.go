package bench

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/internal/benchtest"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func TestParseSeeds(t *testing.T) {
	tests := []struct {
		in   string
		want []uint64
		err  string
	}{
		{"1-3,25", []uint64{1, 2, 3, 25}, ""},
		{"5, 2-3, 3", []uint64{2, 3, 5}, ""},
		{"0", []uint64{0}, ""},
		{"3-1", nil, "runs backwards"},
		{"1,,2", nil, "empty item"},
		{"a-b", nil, "not a seed"},
		{"1-x", nil, "not a range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSeeds(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSeeds(%q) error %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseSeeds(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown top key", "seeds = \"1\"\nbogus = 3\n[[scenarios]]\nfile = \"x\"\n", []string{"spec.toml:2: bogus: unknown key"}},
		{"unknown scenario key", "seeds = \"1\"\n[[scenarios]]\nfile = \"x\"\n\n[[scenarios]]\nfile = \"y\"\nlaod = 1.3\n", []string{"spec.toml:7:", "laod: unknown key"}},
		{"unknown algorithm", "algorithms = [\"diego\", \"nope\"]\n[[scenarios]]\nfile = \"x\"\n", []string{"spec.toml:1: algorithms: unknown algorithm \"nope\""}},
		{"bad seeds", "seeds = \"2-1\"\n[[scenarios]]\nfile = \"x\"\n", []string{"spec.toml:1: seeds:", "backwards"}},
		{"settings not array", "[settings]\n\"auction.bin_pack_first_fit_weight\" = 0.5\n[[scenarios]]\nfile = \"x\"\n", []string{"spec.toml:2: settings.auction.bin_pack_first_fit_weight: must be an array"}},
		{"no scenarios", "seeds = \"1\"\n", []string{"no [[scenarios]]"}},
		{"inflation without load", "[[scenarios]]\nfamily = \"inflation\"\nbase = \"binpack\"\n", []string{"spec.toml:1: scenarios[0]: inflation needs load"}},
		{"unknown metric", "metrics = [\"speed\"]\n[[scenarios]]\nfile = \"x\"\n", []string{"unknown metric \"speed\""}},
		{"syntax", "seeds = \n", []string{"spec.toml:1", "invalid TOML"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSpec("spec.toml", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestExpandMatrix(t *testing.T) {
	dir, path := benchtest.WriteSpec(t, benchtest.StableScenario, `
seeds = "1-2"
algorithms = ["diego", "best-fit"]
[settings]
"auction.bin_pack_first_fit_weight" = [0, 0.5]
"auction.starting_container_weight" = [0.25]
[[scenarios]]
file = "tiny.toml"
`)
	_ = dir
	spec, err := LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := spec.Expand()
	if err != nil {
		t.Fatal(err)
	}
	// 1 scenario x 2 algorithms x (2 x 1 settings) x 2 seeds = 8 runs.
	if len(runs) != 8 {
		t.Fatalf("%d runs, want 8", len(runs))
	}
	first, last := runs[0], runs[7]
	if first.Algorithm != "diego" || first.Settings != "auction.bin_pack_first_fit_weight=0 auction.starting_container_weight=0.25" || first.Seed != 1 {
		t.Errorf("first run %+v", first)
	}
	if last.Algorithm != "best-fit" || last.Settings != "auction.bin_pack_first_fit_weight=0.5 auction.starting_container_weight=0.25" || last.Seed != 2 {
		t.Errorf("last run %+v", last)
	}
	sc, err := last.Load()
	if err != nil {
		t.Fatal(err)
	}
	if sc.Algorithm != "best-fit" || sc.Seed != 2 || sc.Auction.BinPackFirstFitWeight != 0.5 {
		t.Errorf("loaded %s seed %d weight %v", sc.Algorithm, sc.Seed, sc.Auction.BinPackFirstFitWeight)
	}
}

// TestMatrixEndToEndAndResume runs 2 algorithms x 2 seeds, interrupts a second matrix
// after its first row, then resumes it, and checks rows, summaries and the HTML.
func TestMatrixEndToEndAndResume(t *testing.T) {
	_, path := benchtest.WriteSpec(t, benchtest.StableScenario, `
name = "e2e"
seeds = "1-2"
algorithms = ["diego", "best-fit"]
[[scenarios]]
file = "tiny.toml"
`)
	spec, err := LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rep, err := Execute(context.Background(), spec, Options{Out: out, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Done != 4 || rep.Skipped != 0 || rep.Interrupted {
		t.Fatalf("report %+v", rep)
	}
	rows := readCSV(t, filepath.Join(out, ResultsFile))
	if !slices.Equal(rows[0], ResultsHeader(DefaultMetrics())) || len(rows) != 5 {
		t.Fatalf("results.csv: header %v, %d lines", rows[0], len(rows))
	}
	for _, r := range rows[1:] {
		// 9 instances on 16384 MB: everything places, nothing fails.
		if r[6] != "9" || r[7] != "9" || r[8] != "0" {
			t.Errorf("row %v: want 9 desired, 9 running, failure rate 0", r)
		}
	}
	sum := readCSV(t, filepath.Join(out, SummaryCSV))
	if len(sum) != 3 || sum[1][1] != "diego" || sum[2][1] != "best-fit" || sum[1][3] != "2" {
		t.Fatalf("summary.csv %v", sum)
	}
	md, err := os.ReadFile(filepath.Join(out, SummaryMD))
	if err != nil || !strings.Contains(string(md), "| best-fit | default | 2 |") {
		t.Fatalf("summary.md: %v\n%s", err, md)
	}
	if st, err := os.Stat(filepath.Join(out, CompareHTML)); err != nil || st.Size() == 0 {
		t.Errorf("compare.html: %v", err)
	}
	// A rerun does nothing new.
	rep, err = Execute(context.Background(), spec, Options{Out: out, Workers: 2})
	if err != nil || rep.Done != 0 || rep.Skipped != 4 {
		t.Fatalf("rerun: %+v, %v", rep, err)
	}

	// Interrupt: a cancelled context before the start runs nothing and keeps the file.
	out2 := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err = Execute(ctx, spec, Options{Out: out2, Workers: 1})
	if err != nil || !rep.Interrupted || rep.Done != 0 {
		t.Fatalf("cancelled: %+v, %v", rep, err)
	}
	// Interrupt for real: cancel after the first row is written (one worker, so at most
	// one more run is in flight and gets finished and kept).
	out3 := t.TempDir()
	ctx3, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	rep, err = Execute(ctx3, spec, Options{Out: out3, Workers: 1, OnRow: func(Run, int) { cancel3() }})
	if err != nil || !rep.Interrupted || rep.Done < 1 || rep.Done > 2 {
		t.Fatalf("interrupted: %+v, %v", rep, err)
	}
	if n := len(readCSV(t, filepath.Join(out3, ResultsFile))); n != 1+rep.Done {
		t.Fatalf("interrupted results.csv has %d lines, want header + %d", n, rep.Done)
	}
	if _, err := os.Stat(filepath.Join(out3, SummaryCSV)); err == nil {
		t.Error("an interrupted matrix wrote summary.csv")
	}
	kept := rep.Done
	rep, err = Execute(context.Background(), spec, Options{Out: out3, Workers: 2})
	if err != nil || rep.Skipped != kept || rep.Done != 4-kept {
		t.Fatalf("resume after interruption: %+v, %v", rep, err)
	}
	if a, b := mustRead(t, filepath.Join(out3, SummaryCSV)), mustRead(t, filepath.Join(out, SummaryCSV)); string(a) != string(b) {
		t.Errorf("summary after resume differs:\n%s\nwant\n%s", a, b)
	}

	// Simulate an interruption after two finished rows and a third cut short by a kill.
	lines := strings.SplitAfter(string(mustRead(t, filepath.Join(out, ResultsFile))), "\n")
	partial := strings.Join(lines[:3], "") + lines[3][:10]
	if err := os.WriteFile(filepath.Join(out2, ResultsFile), []byte(partial), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = Execute(context.Background(), spec, Options{Out: out2, Workers: 2})
	if err != nil || rep.Done != 2 || rep.Skipped != 2 {
		t.Fatalf("resume: %+v, %v", rep, err)
	}
	// Same rows as the uninterrupted matrix (completion order may differ).
	got, want := readCSV(t, filepath.Join(out2, ResultsFile)), rows
	sortRows(got[1:])
	sortRows(want[1:])
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("resumed results differ:\n%v\nwant\n%v", got, want)
	}
	if a, b := mustRead(t, filepath.Join(out2, SummaryCSV)), mustRead(t, filepath.Join(out, SummaryCSV)); string(a) != string(b) {
		t.Errorf("resumed summary differs:\n%s\nwant\n%s", a, b)
	}
}

func TestResultsOfAnotherSpecRefused(t *testing.T) {
	_, path := benchtest.WriteSpec(t, benchtest.StableScenario, "metrics = [\"failure_rate\"]\n[[scenarios]]\nfile = \"tiny.toml\"\n")
	spec, err := LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, ResultsFile), []byte("scenario,other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(context.Background(), spec, Options{Out: out}); err == nil || !strings.Contains(err.Error(), "use another --out") {
		t.Fatalf("error %v", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sortRows(rows [][]string) {
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(strings.Join(a, ","), strings.Join(b, ",")) })
}
