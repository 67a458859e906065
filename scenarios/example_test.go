package scenarios

import (
	"os"
	"regexp"
	"testing"
)

// TestDocExample keeps the complete example of docs/scenario.md loading cleanly.
func TestDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenario.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## A complete example\n\n```toml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/scenario.md has no complete example")
	}
	s, err := Parse("docs/scenario.md", m[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings: %q", s.Warnings)
	}
	if got := len(s.MatchApps("web-1*")); got != 11 { // web-1, web-10 .. web-19
		t.Errorf("web-1* matches %d apps, want 11", got)
	}
	if e := s.Events[1]; e.Cells == nil || e.Cells.First != 30 {
		t.Errorf("add-cells event = %+v, want First 30", e)
	}
}
