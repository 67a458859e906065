package auction

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/model"
)

func TestDecodeExample(t *testing.T) {
	data, err := os.ReadFile("../../testdata/auction/example-state.json")
	if err != nil {
		t.Fatal(err)
	}
	in, err := DecodeInput(data)
	if err != nil {
		t.Fatal(err)
	}
	if in.State.Len() != 3 || len(in.Batch.LRPs) != 5 || len(in.Batch.Tasks) != 2 {
		t.Fatalf("decoded %d cells, %d lrps, %d tasks", in.State.Len(), len(in.Batch.LRPs), len(in.Batch.Tasks))
	}
	// Listed work feeds the counts but Available is authoritative.
	c, _ := in.State.Cell("cell-1")
	if c.Available.MemoryMB != 800 || in.State.InstancesOf("cell-1", "web") != 1 || in.State.TasksOn("cell-1") != 1 {
		t.Errorf("cell-1 = %+v, web instances %d, tasks %d", c.Available, in.State.InstancesOf("cell-1", "web"), in.State.TasksOn("cell-1"))
	}
	out, err := EncodeResults(in.State.Schedule(in.Batch, Diego{}, nil))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("../../testdata/auction/example-result.json")
	if string(out) != string(want) {
		t.Errorf("results differ from example-result.json:\n%s", out)
	}
}

func TestDecodeErrors(t *testing.T) {
	cell := func(avail string) string {
		return `{"cells": [{"id": "c", "zone": "z", "index": 0, "total": {"memory_mb": 100, "disk_mb": 100, "containers": 10}, "available": ` + avail + `}]}`
	}
	okCell := cell(`{"memory_mb": 100, "disk_mb": 100, "containers": 10}`)
	for _, tc := range []struct{ name, in, want string }{
		{"syntax", "{\n  \"cells\": [,]}", "line 2"},
		{"unknown field", `{"cells": [], "bogus": 1}`, `unknown field "bogus"`},
		{"wrong type", `{"cells": [{"id": 5}]}`, "cells.id"},
		{"missing available field", cell(`{"memory_mb": 100, "disk_mb": 100}`), "cells[0].available.containers: missing"},
		{"negative", cell(`{"memory_mb": -1, "disk_mb": 100, "containers": 10}`), "cells[0].available.memory_mb: must be >= 0, got -1"},
		{"available over total", cell(`{"memory_mb": 101, "disk_mb": 100, "containers": 10}`), "cells[0].available.memory_mb: 101 exceeds total 100"},
		{"missing id", `{"cells": [{"zone": "z"}]}`, "cells[0].id: missing"},
		{"duplicate cell", `{"cells": [` + strings.Repeat(`{"id": "c", "zone": "z", "index": 0, "total": {"memory_mb": 1, "disk_mb": 1, "containers": 1}, "available": {"memory_mb": 1, "disk_mb": 1, "containers": 1}},`, 2) + `{}]}`, "cells[1]: cell c already exists"},
		{"lrp without index", strings.TrimSuffix(okCell, "}") + `, "lrps": [{"process_guid": "a", "memory_mb": 1, "disk_mb": 1, "rootfs": "docker:///x"}]}`, "lrps[0].index: missing"},
		{"task negative disk", strings.TrimSuffix(okCell, "}") + `, "tasks": [{"task_guid": "t", "memory_mb": 1, "disk_mb": -5, "rootfs": "docker:///x"}]}`, "tasks[0].disk_mb: must be >= 0, got -5"},
		{"task without rootfs", `{"tasks": [{"task_guid": "t", "memory_mb": 1, "disk_mb": 1}]}`, "tasks[0].rootfs: missing"},
		{"bad settings", `{"settings": {"bin_pack_first_fit_weight": -1}}`, "settings.bin_pack_first_fit_weight"},
		{"trailing data", `{} {}`, "trailing data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeInput([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if !errors.Is(err, model.ErrInvalid) && !errors.Is(err, model.ErrExists) {
				t.Errorf("error %v wraps neither ErrInvalid nor ErrExists", err)
			}
		})
	}
}
