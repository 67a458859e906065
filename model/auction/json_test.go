package auction

import (
	"errors"
	"os"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

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
		{"wrong type", `{"cells": [{"id": 5}]}`, "cells[0].id: expected string, got JSON number (line 1)"},
		{"wrong type deep", "{\"lrps\": [\n{\"process_guid\": \"a\", \"index\": 0, \"memory_mb\": 1, \"disk_mb\": 1, \"rootfs\": \"docker:///x\"},\n{\"memory_mb\": \"x\"}]}", "lrps[1].memory_mb: expected int, got JSON string (line 3)"},
		{"unknown field in a cell", "{\"cells\": [\n{\"id\": \"c\", \"colour\": 1}]}", `cells[0] (line 2): json: unknown field "colour"`},
		{"unknown field in an item", "{\"tasks\": [{\"task_guid\": \"t\", \"memory\": 1}]}", `tasks[0] (line 1): json: unknown field "memory"`},
		{"syntax in an element", "{\"cells\": [\n{\"id\": \"c\",,}]}", "line 2"},
		{"cut short", `{"cells": [{"id": "c"}`, "unexpected end of JSON input"},
		{"not an object", `[1]`, "expected the top level: a JSON object"},
		{"not an array", `{"lrps": {}}`, "expected lrps: a JSON array"},
		{"key twice", `{"lrps": [], "lrps": []}`, "lrps: given twice"},
		{"settings after cells", cell(`{"memory_mb": 100, "disk_mb": 100, "containers": 10}`)[:len(okCell)-1] + `, "settings": {"proxy_memory_mb": -3}}`, "settings.proxy_memory_mb"},
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

// TestDecodeOrder: the keys of STATE.json may come in any order (settings after the
// cells still apply to them), and null stands for an empty list.
func TestDecodeOrder(t *testing.T) {
	cells := `"cells": [{"id": "c", "zone": "z", "index": 0, "total": {"memory_mb": 100, "disk_mb": 100, "containers": 10}, "available": {"memory_mb": 100, "disk_mb": 100, "containers": 10}}]`
	lrps := `"lrps": [{"process_guid": "a", "index": 0, "memory_mb": 60, "disk_mb": 1, "rootfs": "docker:///x"}]`
	for _, doc := range []string{
		`{"settings": {"proxy_memory_mb": 50}, ` + cells + `, ` + lrps + `}`,
		`{` + lrps + `, ` + cells + `, "settings": {"proxy_memory_mb": 50}, "tasks": null}`,
	} {
		in, err := DecodeInput([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if in.Settings.ProxyMemoryMB != 50 || in.State.Settings().ProxyMemoryMB != 50 || in.State.Len() != 1 || len(in.Batch.LRPs) != 1 {
			t.Fatalf("%s: settings %+v, state's %+v, %d cells, %d lrps", doc, in.Settings, in.State.Settings(), in.State.Len(), len(in.Batch.LRPs))
		}
		// 60 MB + 50 MB of proxy memory do not fit in 100 MB: the settings reached the cell
		res := in.State.Schedule(in.Batch, Diego{}, nil)
		if len(res.LRPs) != 1 || res.LRPs[0].Error == "" {
			t.Fatalf("%s: results %+v, want the LRP refused for memory", doc, res.LRPs)
		}
	}
}

// TestEncodeResultsMatchesMarshalIndent: the hand-written encoder gives the bytes of
// json.MarshalIndent(v, "", "  ") plus a newline, for empty and non-empty lists and for
// strings that need escaping (quotes, backslashes, HTML characters, control characters,
// non-ASCII and invalid UTF-8).
func TestEncodeResultsMatchesMarshalIndent(t *testing.T) {
	type lrpOut struct {
		ProcessGUID string `json:"process_guid"`
		Index       int    `json:"index"`
		CellID      string `json:"cell_id"`
		Error       string `json:"error"`
	}
	type taskOut struct {
		TaskGUID string `json:"task_guid"`
		CellID   string `json:"cell_id"`
		Error    string `json:"error"`
	}
	odd := []string{"", "web", "a\"b", `back\slash`, "<tag>&", "tab\there", "nl\n", "\x00\x1f\x7f", "ünï", "\xff\xfe", "\u2028\u2029", "found no compatible cell for required rootfs"}
	for n := 0; n < 4; n++ {
		var res Results
		for i := 0; i < n*len(odd)/2; i++ {
			s := odd[i%len(odd)]
			res.LRPs = append(res.LRPs, LRPResult{LRP: &LRP{ProcessGUID: s, Index: i * 977}, CellID: odd[(i+3)%len(odd)], Error: odd[(i+5)%len(odd)]})
			if n != 2 {
				res.Tasks = append(res.Tasks, TaskResult{Task: Task{GUID: odd[(i+1)%len(odd)]}, CellID: s, Error: odd[(i+7)%len(odd)]})
			}
		}
		want := struct {
			LRPs  []lrpOut  `json:"lrps"`
			Tasks []taskOut `json:"tasks"`
		}{LRPs: []lrpOut{}, Tasks: []taskOut{}}
		for _, l := range res.LRPs {
			want.LRPs = append(want.LRPs, lrpOut{l.ProcessGUID, l.Index, l.CellID, l.Error})
		}
		for _, tr := range res.Tasks {
			want.Tasks = append(want.Tasks, taskOut{tr.GUID, tr.CellID, tr.Error})
		}
		wb, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeResults(res)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(wb)+"\n" {
			t.Errorf("%d LRPs, %d tasks: EncodeResults differs from MarshalIndent:\n%s\nwant:\n%s", len(res.LRPs), len(res.Tasks), got, wb)
		}
	}
}

// TestObjectsAheadIsBounded: the batch is pre-sized from the count of '{' ahead, but
// never beyond the rest of the input over the shortest item's length, so a file of
// braces cannot make the decoder reserve room for one item per byte.
func TestObjectsAheadIsBounded(t *testing.T) {
	braces := `{"lrps": [` + strings.Repeat("{", 100_000)
	d := &stateDecoder{data: []byte(braces), dec: json.NewDecoder(strings.NewReader(braces))}
	if got, max := d.objectsAhead(len(minLRP)), len(braces)/len(minLRP); got > max || got == 0 {
		t.Errorf("objectsAhead = %d for %d bytes of braces, want 1..%d", got, len(braces), max)
	}
	items := `{"lrps": [` + strings.Repeat(minLRP+",", 99) + minLRP + `]}`
	d = &stateDecoder{data: []byte(items), dec: json.NewDecoder(strings.NewReader(items))}
	if got := d.objectsAhead(len(minLRP)); got < 100 {
		t.Errorf("objectsAhead = %d for 100 shortest LRPs, want at least 100", got)
	}
	if _, err := DecodeInput([]byte(braces)); err == nil {
		t.Error("DecodeInput accepted a file of braces")
	}
	in, err := DecodeInput([]byte(items))
	if err != nil || len(in.Batch.LRPs) != 100 {
		t.Fatalf("DecodeInput of 100 shortest LRPs: %v", err)
	}
}
