package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/bbs/bbstest"
)

// The in-memory tables pass the same conformance suites as SQLite, outside and
// inside a transaction.
func TestMemStoreSuite(t *testing.T) {
	bbstest.RunStoreSuite(t, func(t *testing.T) bbs.Store { return NewMem() })
}

func TestMemDiegoSuite(t *testing.T) {
	bbstest.RunDiegoSuite(t, func(t *testing.T) bbs.Store { return NewMem() })
}

func TestMemStoreSuiteInTransaction(t *testing.T) {
	bbstest.RunStoreSuite(t, func(t *testing.T) bbs.Store {
		m := NewMem()
		must(t, m.Begin())
		return m
	})
}

// TestMemRollbackAsSQLite: the same history of committed and rolled-back changes
// (rows written, overwritten and deleted in one transaction) leaves the same rows in
// both stores.
func TestMemRollbackAsSQLite(t *testing.T) {
	sq, mem := open(t), NewMem()
	type store interface {
		bbs.Store
		Begin() error
		Commit() error
		Rollback() error
		PutMeta(name, value string) error
		PutSpec(kind, name string, v any) error
		DeleteSpec(kind, name string) error
	}
	type rec struct{ N int }
	for _, s := range []store{sq, mem} {
		b := bbs.New(s, bbs.DefaultConfig())
		d := model.DesiredLRP{ProcessGUID: "web", Domain: "cf-apps", Instances: 3, MemoryMB: 64, RootFS: "preloaded:busybox"}
		must(t, s.Begin())
		must(t, b.DesireLRP(0, d))
		must(t, s.PutSpec("app", "web", rec{1}))
		must(t, s.PutMeta("n", "1"))
		must(t, s.Commit())

		must(t, s.Begin())
		must(t, s.PutSpec("app", "web", rec{2}))
		must(t, s.PutSpec("app", "api", rec{3}))
		must(t, s.DeleteSpec("app", "web"))
		must(t, s.PutMeta("n", "2"))
		must(t, s.DeleteActualLRP(model.ActualLRPKey{ProcessGUID: "web", Index: 1}, model.Ordinary))
		must(t, s.DeleteDesiredLRP("web"))
		must(t, s.Rollback())
	}
	for name, get := range map[string]func(store) any{
		"desired": func(s store) any { l, _ := s.ListDesiredLRPs(); return l },
		"actual":  func(s store) any { l, _ := s.ListActualLRPs(); return l },
		"by cell": func(s store) any { l, _ := s.ListActualLRPsByProcess("web"); return l },
		"domains": func(s store) any { l, _ := s.ListDomains(); return l },
		"specs":   func(s store) any { l, _ := ListSpecs[rec](s.(SpecLister), "app"); return l },
	} {
		if diff := cmp.Diff(get(sq), get(mem)); diff != "" {
			t.Errorf("%s differ (-sqlite +mem):\n%s", name, diff)
		}
	}
	if l, _ := mem.ListActualLRPs(); len(l) != 3 {
		t.Fatalf("after the rollback: %d actual rows, want the 3 committed", len(l))
	}
	if v, _, _ := mem.GetMeta("n"); v != "1" {
		t.Fatalf("meta n = %q after the rollback, want 1", v)
	}
}
