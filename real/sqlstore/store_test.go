package sqlstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/bbs/bbstest"
	"github.com/diegolab/diegolab/model/control"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "bbs.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestStoreSuite runs the BBS store conformance suite against SQLite.
func TestStoreSuite(t *testing.T) {
	bbstest.RunStoreSuite(t, func(t *testing.T) bbs.Store { return open(t) })
}

// TestDiegoSuite runs the cases ported from Diego's BBS tests against SQLite: the same
// outcomes as over the in-memory store.
func TestDiegoSuite(t *testing.T) {
	bbstest.RunDiegoSuite(t, func(t *testing.T) bbs.Store { return open(t) })
}

// TestStoreSuiteInTransaction runs it again with every call inside one open
// transaction: reads see the transaction's own writes.
func TestStoreSuiteInTransaction(t *testing.T) {
	bbstest.RunStoreSuite(t, func(t *testing.T) bbs.Store {
		s := open(t)
		if err := s.Begin(); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestWALMode(t *testing.T) {
	s := open(t)
	var mode string
	if err := s.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// TestRollbackUndoesEveryRow: a multi-row change rolled back leaves nothing; the
// same change committed survives a reopen.
func TestRollbackUndoesEveryRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bbs.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	b := bbs.New(s, bbs.DefaultConfig())
	d := model.DesiredLRP{ProcessGUID: "web", Domain: "cf-apps", Instances: 3, MemoryMB: 64, RootFS: "preloaded:busybox"}
	must(t, s.Begin())
	must(t, b.DesireLRP(0, d)) // 1 desired + 1 domain + 3 actual rows
	must(t, s.Rollback())
	if l, _ := s.ListActualLRPs(); len(l) != 0 {
		t.Fatalf("after rollback: %d actual rows, want 0", len(l))
	}
	if _, ok, _ := s.GetDesiredLRP("web"); ok {
		t.Fatal("after rollback: desired row still there")
	}
	b = bbs.New(s, bbs.DefaultConfig())
	must(t, s.Begin())
	must(t, b.DesireLRP(0, d))
	must(t, s.Commit())
	must(t, s.Close())
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	l, err := s2.ListActualLRPs()
	must(t, err)
	if len(l) != 3 {
		t.Fatalf("after reopen: %d actual rows, want 3", len(l))
	}
}

// TestPlaneReopens: a plane opened over the SQLite rows another plane wrote plans the
// same convergence (the restarted-BBS path of real mode).
func TestPlaneReopens(t *testing.T) {
	s := open(t)
	p, err := control.New(control.Defaults(), s, nil)
	must(t, err)
	must(t, p.DesireLRP(0, model.DesiredLRP{ProcessGUID: "web", Domain: "cf-apps", Instances: 2, MemoryMB: 64, RootFS: "preloaded:busybox"}))
	k := model.ActualLRPKey{ProcessGUID: "web", Index: 0}
	ik := model.InstanceKey{InstanceGUID: "i-1", CellID: "c1"}
	must(t, p.ClaimLRP(time.Second, k, ik))
	must(t, p.StartLRP(2*time.Second, k, ik, "127.0.0.1:5000"))
	q, err := control.Open(control.Defaults(), s, nil, 7)
	must(t, err)
	if q.InstancesIssued() != 7 {
		t.Fatalf("issued = %d, want 7", q.InstancesIssued())
	}
	for _, cells := range [][]string{{"c1"}, nil} {
		a, b := p.BBS().ConvergePlan(time.Minute, cells), q.BBS().ConvergePlan(time.Minute, cells)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("cells %v (-writer +reopened):\n%s", cells, diff)
		}
		// Without c1 the running instance is on a missing cell: a non-empty plan.
		if cells == nil && len(b.MissingCells) != 1 {
			t.Fatalf("reopened plan without c1: %d missing-cell instances, want 1", len(b.MissingCells))
		}
	}
}

func TestMetaAndSpecs(t *testing.T) {
	s := open(t)
	must(t, s.PutMeta("epoch", "1"))
	must(t, s.PutMeta("epoch", "2"))
	if v, ok, err := s.GetMeta("epoch"); err != nil || !ok || v != "2" {
		t.Fatalf("meta = %q %v %v", v, ok, err)
	}
	type rec struct{ N int }
	must(t, s.PutSpec("app", "b", rec{2}))
	must(t, s.PutSpec("app", "a", rec{1}))
	l, err := ListSpecs[rec](s, "app")
	must(t, err)
	if len(l) != 2 || l[0].N != 1 || l[1].N != 2 {
		t.Fatalf("specs = %+v", l)
	}
	must(t, s.DeleteSpec("app", "a"))
	var r rec
	if ok, _ := s.GetSpec("app", "a", &r); ok {
		t.Fatal("deleted spec still there")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
