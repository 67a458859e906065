package sqlstore

import (
	"path/filepath"
	"testing"
	"time"
)

// TestLease runs the lock and presence rules on both dialects.
func TestLease(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (a, b *Store)
	}{
		{"sqlite", func(t *testing.T) (*Store, *Store) {
			p := filepath.Join(t.TempDir(), "bbs.db")
			a, err := Open(p)
			must(t, err)
			b, err := Open(p)
			must(t, err)
			t.Cleanup(func() { a.Close(); b.Close() })
			return a, b
		}},
		{"postgres", func(t *testing.T) (*Store, *Store) {
			u := pgURL(t)
			a, err := OpenPostgres(u)
			must(t, err)
			b, err := OpenPostgres(u)
			must(t, err)
			t.Cleanup(func() { a.Close(); b.Close() })
			return a, b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.open(t) // two processes' connections to one database
			t0 := time.Unix(1_000_000, 0)
			ttl := 15 * time.Second
			acquire := func(s *Store, owner string, at time.Duration) bool {
				t.Helper()
				ok, err := s.AcquireLock("bbs", owner, "http://"+owner, t0.Add(at), ttl)
				must(t, err)
				return ok
			}
			fence := func(s *Store, owner string, at time.Duration) bool {
				t.Helper()
				must(t, s.Begin())
				ok, err := s.FenceLock("bbs", owner, t0.Add(at))
				must(t, err)
				must(t, s.Commit())
				return ok
			}
			if !acquire(a, "A", 0) {
				t.Fatal("A could not take a free lock")
			}
			if acquire(b, "B", time.Second) {
				t.Fatal("B took a lock A holds")
			}
			if !acquire(a, "A", 10*time.Second) {
				t.Fatal("A could not renew")
			}
			if acquire(b, "B", 20*time.Second) {
				t.Fatal("B took the lock before A's renewed expiry (25 s)")
			}
			if !fence(a, "A", 24*time.Second) || fence(b, "B", 24*time.Second) {
				t.Fatal("fence at 24 s: want A holding, B not")
			}
			if fence(a, "A", 25*time.Second) {
				t.Fatal("A's fence passed at its expiry")
			}
			if !acquire(b, "B", 25*time.Second) {
				t.Fatal("B could not take the expired lock")
			}
			owner, value, exp, ok, err := a.LockHolder("bbs")
			must(t, err)
			if !ok || owner != "B" || value != "http://B" || !exp.Equal(t0.Add(40*time.Second)) {
				t.Fatalf("holder = %q %q %v %v", owner, value, exp, ok)
			}
			// A, resumed after a stop, renews with an older idea: refused, and its
			// fence fails even at a time before B's expiry.
			if acquire(a, "A", 26*time.Second) || fence(a, "A", 26*time.Second) {
				t.Fatal("A acted after losing the lock")
			}
			must(t, a.ReleaseLock("bbs", "A")) // not A's: no effect
			if _, _, _, ok, _ := a.LockHolder("bbs"); !ok {
				t.Fatal("A released B's lock")
			}
			must(t, b.ReleaseLock("bbs", "B"))
			if !acquire(a, "A", 27*time.Second) {
				t.Fatal("A could not take a released lock")
			}

			type pres struct{ Cell string }
			must(t, a.PutPresence("c2", pres{"c2"}, 10*time.Second))
			must(t, a.PutPresence("c1", pres{"c1"}, 5*time.Second))
			must(t, a.PutPresence("c1", pres{"c1"}, 20*time.Second)) // a heartbeat
			must(t, a.PutPresence("c3", pres{"c3"}, 30*time.Second))
			must(t, a.DeletePresence("c3"))
			l, err := ListPresences[pres](b, 15*time.Second)
			must(t, err)
			if len(l) != 1 || l[0].Cell != "c1" {
				t.Fatalf("presences at 15 s = %+v, want c1 only", l)
			}
		})
	}
}

// TestSQLiteLockUnderWrites: one connection renews the lock in a loop while the other
// runs read-then-write transactions: no transaction fails with "database is locked"
// (a deferred SQLite transaction would: SQLITE_BUSY_SNAPSHOT).
func TestSQLiteLockUnderWrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bbs.db")
	a, err := Open(p)
	must(t, err)
	defer a.Close()
	lk, err := Open(p)
	must(t, err)
	defer lk.Close()
	stop := make(chan struct{})
	renewed := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				renewed <- nil
				return
			default:
			}
			if _, err := lk.AcquireLock("bbs", "A", "x", time.Now(), time.Minute); err != nil {
				renewed <- err
				return
			}
		}
	}()
	for i := range 300 {
		must(t, a.Begin())
		if _, _, err := a.GetMeta("n"); err != nil {
			t.Fatal(err)
		}
		if err := a.PutMeta("n", "v"); err != nil {
			t.Fatalf("write %d after a read, while the lock is renewed: %v", i, err)
		}
		if _, err := a.FenceLock("bbs", "A", time.Now()); err != nil {
			t.Fatal(err)
		}
		must(t, a.Commit())
	}
	close(stop)
	must(t, <-renewed)
}
