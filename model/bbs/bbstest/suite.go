// Package bbstest is the Store conformance suite: RunStoreSuite runs the same tests
// against any bbs.Store implementation (MemStore now, the SQL store of real mode later).
package bbstest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/converge"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func key(g string, i int) model.ActualLRPKey { return model.ActualLRPKey{ProcessGUID: g, Index: i} }

// RunStoreSuite checks CRUD, upsert, delete-of-missing, cell re-indexing and sorted lists.
func RunStoreSuite(t *testing.T, newStore func(t *testing.T) bbs.Store) {
	t.Run("desired", func(t *testing.T) {
		s := newStore(t)
		for _, g := range []string{"b", "a", "c"} {
			must(t, s.PutDesiredLRP(model.DesiredLRP{ProcessGUID: g, Domain: "d", Instances: 1, RootFS: "x:y", Routes: []string{"r"}}))
		}
		must(t, s.PutDesiredLRP(model.DesiredLRP{ProcessGUID: "a", Domain: "d", Instances: 5, RootFS: "x:y"}))
		d, ok, err := s.GetDesiredLRP("a")
		must(t, err)
		if !ok || d.Instances != 5 {
			t.Fatalf("upsert: got %+v %v, want instances 5", d, ok)
		}
		must(t, s.DeleteDesiredLRP("c"))
		must(t, s.DeleteDesiredLRP("missing"))
		l, err := s.ListDesiredLRPs()
		must(t, err)
		var guids []string
		for _, d := range l {
			guids = append(guids, d.ProcessGUID)
		}
		if diff := cmp.Diff([]string{"a", "b"}, guids); diff != "" {
			t.Fatalf("list order (-want +got):\n%s", diff)
		}
		if _, ok, _ := s.GetDesiredLRP("c"); ok {
			t.Fatal("deleted desired still there")
		}
	})
	t.Run("actual", func(t *testing.T) {
		s := newStore(t)
		rows := []model.ActualLRP{
			{ActualLRPKey: key("b", 0), State: model.Unclaimed},
			{ActualLRPKey: key("a", 1), InstanceKey: model.InstanceKey{InstanceGUID: "i1", CellID: "c1"}, State: model.Running},
			{ActualLRPKey: key("a", 1), InstanceKey: model.InstanceKey{InstanceGUID: "i0", CellID: "c2"}, State: model.Running, Presence: model.Suspect},
			{ActualLRPKey: key("a", 0), InstanceKey: model.InstanceKey{InstanceGUID: "i2", CellID: "c1"}, State: model.Claimed},
			{ActualLRPKey: key("a", 10), InstanceKey: model.InstanceKey{InstanceGUID: "i3", CellID: "c2"}, State: model.Running, Presence: model.Evacuating},
		}
		for _, a := range rows {
			must(t, s.PutActualLRP(a))
		}
		got, ok, err := s.GetActualLRP(key("a", 1), model.Suspect)
		must(t, err)
		if !ok || got.InstanceGUID != "i0" {
			t.Fatalf("get by (key, presence): %+v %v", got, ok)
		}
		if _, ok, _ := s.GetActualLRP(key("a", 1), model.Evacuating); ok {
			t.Fatal("found a row that was never put")
		}
		ids := func(l []model.ActualLRP, err error) []string {
			must(t, err)
			var out []string
			for _, a := range l {
				out = append(out, a.ActualLRPKey.String()+"/"+a.Presence.String())
			}
			return out
		}
		if diff := cmp.Diff([]string{"a/0/ORDINARY", "a/1/ORDINARY", "a/1/SUSPECT", "a/10/EVACUATING"}, ids(s.ListActualLRPsByProcess("a"))); diff != "" {
			t.Fatalf("by process (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"a/0/ORDINARY", "a/1/ORDINARY"}, ids(s.ListActualLRPsByCell("c1"))); diff != "" {
			t.Fatalf("by cell (-want +got):\n%s", diff)
		}
		// move a/0 from c1 to c3 and unclaim a/1: the cell index follows.
		must(t, s.PutActualLRP(model.ActualLRP{ActualLRPKey: key("a", 0), InstanceKey: model.InstanceKey{InstanceGUID: "i9", CellID: "c3"}, State: model.Running}))
		must(t, s.PutActualLRP(model.ActualLRP{ActualLRPKey: key("a", 1), State: model.Unclaimed}))
		if got := ids(s.ListActualLRPsByCell("c1")); len(got) != 0 {
			t.Fatalf("c1 after moves = %v, want empty", got)
		}
		if diff := cmp.Diff([]string{"a/0/ORDINARY"}, ids(s.ListActualLRPsByCell("c3"))); diff != "" {
			t.Fatalf("c3 (-want +got):\n%s", diff)
		}
		must(t, s.DeleteActualLRP(key("a", 10), model.Evacuating))
		must(t, s.DeleteActualLRP(key("zz", 0), model.Ordinary))
		if diff := cmp.Diff([]string{"a/1/SUSPECT"}, ids(s.ListActualLRPsByCell("c2"))); diff != "" {
			t.Fatalf("c2 after delete (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"a/0/ORDINARY", "a/1/ORDINARY", "a/1/SUSPECT", "b/0/ORDINARY"}, ids(s.ListActualLRPs())); diff != "" {
			t.Fatalf("all (-want +got):\n%s", diff)
		}
	})
	t.Run("tasks and domains", func(t *testing.T) {
		s := newStore(t)
		for _, g := range []string{"t2", "t1"} {
			must(t, s.PutTask(model.Task{GUID: g, Domain: "d", RootFS: "x:y", State: model.TaskPending}))
		}
		must(t, s.PutTask(model.Task{GUID: "t2", Domain: "d", RootFS: "x:y", State: model.TaskRunning, CellID: "c"}))
		tk, ok, err := s.GetTask("t2")
		must(t, err)
		if !ok || tk.State != model.TaskRunning {
			t.Fatalf("task upsert: %+v", tk)
		}
		must(t, s.DeleteTask("t1"))
		must(t, s.DeleteTask("none"))
		l, err := s.ListTasks()
		must(t, err)
		if len(l) != 1 || l[0].GUID != "t2" {
			t.Fatalf("tasks = %+v", l)
		}
		must(t, s.PutDomain(converge.Domain{Name: "z", ExpiresAt: 5}))
		must(t, s.PutDomain(converge.Domain{Name: "a"}))
		must(t, s.PutDomain(converge.Domain{Name: "z", ExpiresAt: 9}))
		ds, err := s.ListDomains()
		must(t, err)
		if diff := cmp.Diff([]converge.Domain{{Name: "a"}, {Name: "z", ExpiresAt: 9}}, ds); diff != "" {
			t.Fatalf("domains (-want +got):\n%s", diff)
		}
		must(t, s.DeleteDomain("a"))
		ds, _ = s.ListDomains()
		if len(ds) != 1 {
			t.Fatalf("domains after delete = %v", ds)
		}
	})
	t.Run("put copies slices", func(t *testing.T) {
		s := newStore(t)
		tags := []string{"x"}
		must(t, s.PutDesiredLRP(model.DesiredLRP{ProcessGUID: "a", Domain: "d", RootFS: "x:y", PlacementTags: tags}))
		tags[0] = "changed"
		d, _, _ := s.GetDesiredLRP("a")
		if d.PlacementTags[0] != "x" {
			t.Fatal("store aliases the caller's slice")
		}
	})
}
