package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuctionExample runs `diegolab auction` on the shipped example and compares with
// the shipped result (whose arithmetic is worked through in docs/auction-json.md).
func TestAuctionExample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "result.json")
	if code := execute([]string{"auction", "--state", "../../testdata/auction/example-state.json", "--out", out}); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../testdata/auction/example-result.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("result differs from testdata/auction/example-result.json:\n%s", got)
	}
}

func TestAuctionBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cell := `{"id": "c", "zone": "z", "index": 0, "total": {"memory_mb": 100, "disk_mb": 100, "containers": 10}, "available": {"memory_mb": %s, "disk_mb": 100, "containers": 10}}`
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no --state", []string{"auction"}},
		{"missing file", []string{"auction", "--state", filepath.Join(dir, "nope.json")}},
		{"bad json", []string{"auction", "--state", write("bad.json", `{"cells": [`)}},
		{"unknown field", []string{"auction", "--state", write("unk.json", `{"cellz": []}`)}},
		{"available > total", []string{"auction", "--state", write("over.json", `{"cells": [`+strings.Replace(cell, "%s", "200", 1)+`]}`)}},
		{"negative", []string{"auction", "--state", write("neg.json", `{"cells": [`+strings.Replace(cell, "%s", "-1", 1)+`]}`)}},
		{"unknown algorithm", []string{"auction", "--state", write("ok.json", `{"cells": []}`), "--algorithm", "nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := execute(tc.args); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
		})
	}
}
