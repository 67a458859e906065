package bbsserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/record"
)

// fakeRep answers the auctioneer's /state with an empty 1 GB cell and hands every
// /work it gets to the test.
func fakeRep(t *testing.T, cellID string) (*httptest.Server, chan api.Work) {
	t.Helper()
	works := make(chan api.Work, 8)
	rep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/state":
			_ = json.NewEncoder(w).Encode(api.CellState{CellID: cellID, Zone: "z1",
				Total:           model.Resources{MemoryMB: 1024, DiskMB: 4096, Containers: 10},
				Available:       model.Resources{MemoryMB: 1024, DiskMB: 4096, Containers: 10},
				RootFSProviders: []string{api.Rootfs, "docker"}})
		case "/work":
			var wk api.Work
			if err := json.NewDecoder(r.Body).Decode(&wk); err != nil {
				t.Errorf("work: %v", err)
			}
			works <- wk
		}
	}))
	t.Cleanup(rep.Close)
	return rep, works
}

// TestRecordEndpoint: a cell, an app of two instances placed and running through the
// API; GET /v1/record gives the summary and the tables as the simulator would write
// them, ?events=1 the events so far, and together they read back as a run record.
func TestRecordEndpoint(t *testing.T) {
	s := startServer(t)
	rep, works := fakeRep(t, "c1")
	repCl := &api.Client{URL: s.URL(), Token: "rep-token", HTTP: http.DefaultClient}
	cl := &api.Client{URL: s.URL(), Token: "client-token", HTTP: http.DefaultClient}
	ctx := context.Background()
	p := api.Presence{CellID: "c1", Zone: "z1", RepURL: rep.URL,
		Capacity: model.Resources{MemoryMB: 1024, DiskMB: 4096, Containers: 10}, RootFSProviders: []string{api.Rootfs}}
	if err := repCl.Do(ctx, http.MethodPost, "/v1/presence", p, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.do(func(now time.Duration) error {
		return s.plane.DesireLRP(now, model.DesiredLRP{ProcessGUID: "web-1", Domain: api.AppsDomain, Instances: 2,
			MemoryMB: 128, DiskMB: 64, RootFS: api.Rootfs})
	}); err != nil {
		t.Fatal(err)
	}
	var placed []api.WorkLRP
	for len(placed) < 2 {
		select {
		case wk := <-works:
			placed = append(placed, wk.LRPs...)
		case <-time.After(10 * time.Second):
			t.Fatalf("no work after 10 s (got %d instances)", len(placed))
		}
	}
	for _, l := range placed {
		rpt := api.LRPReport{Key: model.ActualLRPKey{ProcessGUID: l.ProcessGUID, Index: l.Index},
			Instance: model.InstanceKey{InstanceGUID: l.InstanceGUID, CellID: "c1"}, Address: "127.0.0.1:9"}
		for _, op := range []string{"claim", "start"} {
			if err := repCl.Do(ctx, http.MethodPost, "/v1/actual/"+op, rpt, nil); err != nil {
				t.Fatalf("%s %s/%d: %v", op, l.ProcessGUID, l.Index, err)
			}
		}
	}

	var f record.Files
	if err := cl.Do(ctx, http.MethodGet, "/v1/record", nil, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cells) != 1 || f.Cells[0] != (record.CellRow{CellID: "c1", Zone: "z1", MemoryMB: 1024, MemoryUsedMB: 256,
		DiskMB: 4096, DiskUsedMB: 128, Containers: 10, ContainersUsed: 2, Instances: 2, State: record.CellUp}) {
		t.Errorf("cells: %+v", f.Cells)
	}
	if len(f.Placements) != 1 || f.Placements[0] != (record.PlacementRow{CellID: "c1", ProcessGUID: "web-1", Instances: 2}) {
		t.Errorf("placements: %+v", f.Placements)
	}
	sum := f.Summary
	if sum == nil || sum.Mode != "real" || sum.Cells != 1 || sum.Apps != 1 || sum.DesiredInstances != 2 ||
		sum.RunningInstances != 2 || sum.Auction.LRPsPlaced != 2 || sum.Auction.Batches < 1 {
		t.Errorf("summary: %+v", sum)
	}
	if n := len(f.Timeseries); n == 0 {
		t.Error("no timeseries sample")
	} else if last := f.Timeseries[n-1]; last.Running != 2 || last.Desired != 2 || last.CellsUp != 1 || last.MemoryUsedMB != 256 {
		t.Errorf("last sample: %+v", last)
	}

	code, body := raw(t, http.MethodGet, s.URL()+"/v1/record?events=1", "client-token", "")
	if code != http.StatusOK {
		t.Fatalf("events: %d %s", code, body)
	}
	counts := map[string]int{}
	if err := record.DecodeEvents(strings.NewReader(body), func(e *record.Event) error {
		counts[e.Type+" "+e.State]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if counts["actual_lrp RUNNING"] != 2 || counts["auction "] < 1 || counts["cell up"] != 1 {
		t.Errorf("events by type and state: %v", counts)
	}

	// What the endpoint returns is a run record as `diegolab report` reads it.
	dir := t.TempDir()
	if err := record.WriteFiles(dir, &f); err != nil {
		t.Fatal(err)
	}
	run, err := record.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 1 || len(run.Placements) != 1 || len(run.Timeseries) != len(f.Timeseries) {
		t.Errorf("read back: %d cells, %d placements, %d samples", len(run.Cells), len(run.Placements), len(run.Timeseries))
	}
	if code, _ := raw(t, http.MethodGet, s.URL()+"/v1/record", "rep-token", ""); code != http.StatusUnauthorized {
		t.Errorf("rep token on /v1/record: %d, want 401", code)
	}
}
