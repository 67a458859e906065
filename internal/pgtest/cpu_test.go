package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestCPUCountsQueries: a query that keeps a backend busy shows in CPU, both while its
// connection is open (a live backend) and after it closed (a reaped one, counted in
// the postmaster's children's time).
func TestCPUCountsQueries(t *testing.T) {
	s := Start(t)
	url := s.CreateDB(t, "pgtest_cpu")
	before, err := s.CPU()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	// Burn at least 300 ms of the backend's CPU (a count over generated rows).
	var busy time.Duration
	for busy < 300*time.Millisecond {
		var n int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 2000000)").Scan(&n); err != nil {
			t.Fatal(err)
		}
		now, err := s.CPU()
		if err != nil {
			t.Fatal(err)
		}
		busy = now - before
		if busy < 0 {
			t.Fatalf("CPU went backwards: %s then %s", before, now)
		}
	}
	open := busy
	c.Close(ctx)
	var after time.Duration
	for i := 0; i < 100; i++ { // the backend exits, and is reaped, shortly after the close
		time.Sleep(20 * time.Millisecond)
		if after, err = s.CPU(); err != nil {
			t.Fatal(err)
		}
		if after-before >= open {
			break
		}
	}
	if after-before < open {
		t.Errorf("after the connection closed the server's CPU is %s over the start, less than the %s measured while it was open", after-before, open)
	}
	s.Stop()
	if _, err := s.CPU(); err == nil {
		t.Error("CPU of a stopped server: no error")
	}
}
