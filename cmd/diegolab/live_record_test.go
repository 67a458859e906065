package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/real/live"
	"github.com/diegolab/diegolab/record"
)

// `live record DIR` against a BBS stand-in: the five files land in DIR and `report`
// renders them; a bad token, an unreachable cluster and extra arguments are errors.
func TestLiveRecordCommand(t *testing.T) {
	files := record.Files{
		Summary:    &record.Summary{Scenario: "live", Mode: "real", Cells: 1, PlacementFailures: map[string]int{}, Faults: []record.Fault{}},
		Cells:      []record.CellRow{{CellID: "cell-0", Zone: "z0", MemoryMB: 1024, MemoryUsedMB: 128, DiskMB: 4096, Containers: 10, ContainersUsed: 1, Instances: 1, State: record.CellUp}},
		Placements: []record.PlacementRow{{CellID: "cell-0", ProcessGUID: "web-1", Instances: 1}},
		Timeseries: []record.Sample{{T: 1, Desired: 1, Running: 1, CellsUp: 1, MemoryUsedMB: 128}},
	}
	events := `{"t":0.5,"type":"desired_lrp","change":"created","process_guid":"web-1","instances":1}` + "\n"
	bbs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/v1/record" {
			http.Error(w, `{"error":"no"}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("events") != "" {
			_, _ = w.Write([]byte(events))
			return
		}
		_ = json.NewEncoder(w).Encode(files)
	}))
	defer bbs.Close()
	cluster := t.TempDir()
	writeConfig := func(tok string) {
		b, _ := json.Marshal(live.ClientConfig{URL: bbs.URL, Token: tok})
		if err := os.WriteFile(filepath.Join(cluster, live.ConfigFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig("tok")
	out := filepath.Join(t.TempDir(), "live")
	if code, stdout, errOut := capture(t, "live", "record", "--dir", cluster, out); code != 0 || strings.TrimSpace(stdout) != out {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(out, record.EventsFile)); err != nil || string(b) != events {
		t.Errorf("events.jsonl: %q %v", b, err)
	}
	run, err := record.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Summary.Mode != "real" || len(run.Cells) != 1 || len(run.Placements) != 1 || len(run.Timeseries) != 1 {
		t.Errorf("read back: %+v", run)
	}
	if code, _, errOut := capture(t, "report", out); code != 0 {
		t.Errorf("report: exit %d: %s", code, errOut)
	}
	// Without DIR: CLUSTER_DIR/record.
	if code, stdout, errOut := capture(t, "live", "record", "--dir", cluster); code != 0 || strings.TrimSpace(stdout) != filepath.Join(cluster, live.RecordDir) {
		t.Fatalf("default dir: exit %d, stdout %q, stderr %s", code, stdout, errOut)
	}
	writeConfig("wrong")
	if code, _, errOut := capture(t, "live", "record", "--dir", cluster, out); code == 0 || !strings.Contains(errOut, "run record") {
		t.Errorf("wrong token: exit %d, stderr %s", code, errOut)
	}
	if code, _, errOut := capture(t, "live", "record", "--dir", t.TempDir()); code == 0 || !strings.Contains(errOut, "no cluster config") {
		t.Errorf("no cluster: exit %d, stderr %s", code, errOut)
	}
	if code, _, _ := capture(t, "live", "record", "--dir", cluster, "a", "b"); code == 0 {
		t.Error("two directories accepted")
	}
}
