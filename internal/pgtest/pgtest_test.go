package pgtest

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestStartQueryStop: a server answers SQL in a database of its own, and Stop leaves
// neither its directory nor its process behind.
func TestStartQueryStop(t *testing.T) {
	s := Start(t)
	url := s.CreateDB(t, "pgtest_one")
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	var db string
	var n int
	if err := c.QueryRow(ctx, "SELECT current_database(), 6 * 7").Scan(&db, &n); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	if db != "pgtest_one" || n != 42 {
		t.Errorf("got %s, %d; want pgtest_one, 42", db, n)
	}
	dir, pid := s.Dir, s.cmd.Process.Pid
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after Stop (%v)", dir, err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("postgres pid %d still alive after Stop", pid)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestCreateDBRejectsBadName(t *testing.T) {
	s := Start(t)
	ft := &fakeTB{TB: t}
	func() {
		defer func() { recover() }()
		s.CreateDB(ft, "Robert'); DROP")
	}()
	if !ft.failed {
		t.Errorf("CreateDB accepted a name that is not an identifier")
	}
}

// fakeTB records Fatalf instead of stopping the real test.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic("fatal") }
func (f *fakeTB) Helper()               {}
