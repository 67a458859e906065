package scenarios

import (
	"strings"
	"testing"
	"time"
)

// The start queue (start_concurrency, start_service) parses, is bounded, needs its
// service time and is refused beside the overheads it replaces.
func TestCalibrationStartQueue(t *testing.T) {
	ok := base + "\n[calibration]\nstart_concurrency = 3\nstart_service = {dist = \"normal\", mean = \"2s\", stddev = \"500ms\"}\n"
	s, err := Parse("q.toml", []byte(ok))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Calibration
	if c.StartConcurrency != 3 || c.StartService != (Dist{Kind: DistNormal, Mean: 2 * time.Second, Stddev: 500 * time.Millisecond}) ||
		c.StartScope != StartScopeCell || !c.Set() {
		t.Errorf("calibration %+v, want 3 slots of normal(2s, 500ms) per cell", c)
	}
	s, err = Parse("q.toml", []byte(ok+"start_scope = \"cluster\"\n"))
	if err != nil || s.Calibration.StartScope != StartScopeCluster {
		t.Errorf("start_scope cluster: %v, %+v", err, s)
	}
	for _, tt := range []struct{ table, want string }{
		{"start_concurrency = 0\nstart_service = \"1s\"", "calibration.start_concurrency: must be an integer in [1, 1024]"},
		{"start_concurrency = 5000\nstart_service = \"1s\"", "calibration.start_concurrency: must be an integer in [1, 1024]"},
		{"start_concurrency = 2", "calibration.start_service: missing"},
		{"start_service = \"1s\"", "calibration.start_service: start_service and start_scope need calibration.start_concurrency"},
		{"start_concurrency = 2\nstart_service = \"1s\"\nstart_scope = \"rack\"", `calibration.start_scope: must be "cell"`},
		{"start_concurrency = 2\nstart_service = \"1s\"\nstart_overhead = \"1s\"", "calibration.start_concurrency: replaces start_overhead"},
	} {
		_, err := Parse("q.toml", []byte(base+"\n[calibration]\n"+tt.table+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one containing %q", tt.table, err, tt.want)
		}
	}
}
