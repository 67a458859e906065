package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/diegolab/diegolab/internal/pgtest"
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/bbs/bbstest"
)

// The PostgreSQL tests share one throwaway server (internal/pgtest: it skips loudly
// without PostgreSQL, and fails under CI=true) and one database; each store gets a
// schema of its own (search_path), which is much cheaper than a database each.
var pg pgtest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	os.Exit(code)
}

var (
	pgDBOnce sync.Once
	pgDBURL  string
	pgSeq    atomic.Int64
)

// pgURL returns the URL of a fresh, empty schema in the shared test database.
func pgURL(t *testing.T) string {
	t.Helper()
	srv := pg.Get(t)
	pgDBOnce.Do(func() { pgDBURL = srv.CreateDB(t, "sqlstore") })
	name := fmt.Sprintf("s%d", pgSeq.Add(1))
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pgDBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pgDBURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func openPG(t *testing.T) *Store {
	t.Helper()
	s, err := OpenTarget(pgURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Dialect() != "postgres" {
		t.Fatalf("dialect = %q, want postgres", s.Dialect())
	}
	return s
}

// TestPostgresStoreSuite runs the store conformance suite on PostgreSQL.
func TestPostgresStoreSuite(t *testing.T) {
	bbstest.RunStoreSuite(t, func(t *testing.T) bbs.Store { return openPG(t) })
}

// TestPostgresStoreSuiteInTransaction: the same with every call in one transaction.
func TestPostgresStoreSuiteInTransaction(t *testing.T) {
	bbstest.RunStoreSuite(t, func(t *testing.T) bbs.Store {
		s := openPG(t)
		must(t, s.Begin())
		return s
	})
}

// TestPostgresDiegoSuite runs the cases ported from Diego's BBS tests on PostgreSQL.
func TestPostgresDiegoSuite(t *testing.T) {
	bbstest.RunDiegoSuite(t, func(t *testing.T) bbs.Store { return openPG(t) })
}

// TestPostgresMetaAndSpecs: the real-mode records, and a rollback, on PostgreSQL.
func TestPostgresMetaAndSpecs(t *testing.T) {
	s := openPG(t)
	must(t, s.PutMeta("epoch", "1"))
	must(t, s.Begin())
	must(t, s.PutMeta("epoch", "2"))
	must(t, s.PutSpec("app", "a", 1))
	must(t, s.Rollback())
	if v, _, _ := s.GetMeta("epoch"); v != "1" {
		t.Fatalf("after rollback: epoch = %q, want 1", v)
	}
	if l, err := ListSpecs[int](s, "app"); err != nil || len(l) != 0 {
		t.Fatalf("after rollback: specs = %v, %v", l, err)
	}
}

// TestPostgresByteOrder: keys sort by bytes (as strings.Compare) whatever the
// database's collation, because key columns are COLLATE "C".
func TestPostgresByteOrder(t *testing.T) {
	s := openPG(t)
	for _, g := range []string{"b", "B", "a-1", "a_1", "A", "_z"} {
		must(t, s.PutDesiredLRP(model.DesiredLRP{ProcessGUID: g, Domain: "d", Instances: 1, RootFS: "x:y"}))
	}
	l, err := s.ListDesiredLRPs()
	must(t, err)
	var got []string
	for _, d := range l {
		got = append(got, d.ProcessGUID)
	}
	if want := "A B _z a-1 a_1 b"; strings.Join(got, " ") != want {
		t.Fatalf("order = %v, want %s", got, want)
	}
}

// TestSchemaVersion: a new database is at SchemaVersion on both dialects, a reopen
// changes nothing, and a database at a newer version is refused with a clear error.
func TestSchemaVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) (string, func(string) (*Store, error))
	}{
		{"sqlite", func(t *testing.T) (string, func(string) (*Store, error)) {
			return t.TempDir() + "/bbs.db", Open
		}},
		{"postgres", func(t *testing.T) (string, func(string) (*Store, error)) {
			return pgURL(t), OpenPostgres
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, open := tc.open(t)
			s, err := open(target)
			must(t, err)
			v, err := s.Version()
			must(t, err)
			if v != SchemaVersion() || v < 1 {
				t.Fatalf("new database at version %d, want %d", v, SchemaVersion())
			}
			must(t, s.PutMeta("kept", "yes"))
			must(t, s.Close())
			s, err = open(target)
			must(t, err)
			if got, _, _ := s.GetMeta("kept"); got != "yes" {
				t.Fatalf("reopen lost a row: %q", got)
			}
			// A newer diegolab migrated this database further.
			must(t, s.exec(`UPDATE schema_version SET version = $1`, SchemaVersion()+1))
			must(t, s.Close())
			_, err = open(target)
			if !errors.Is(err, ErrSchemaTooNew) {
				t.Fatalf("opening a newer schema: err = %v, want ErrSchemaTooNew", err)
			}
			want := fmt.Sprintf("version %d, this build knows versions up to %d", SchemaVersion()+1, SchemaVersion())
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
		})
	}
}

// TestSchemaUnversionedSQLite: a SQLite database made before schema versions (tables,
// no schema_version) is adopted at version 1 with its rows.
func TestSchemaUnversionedSQLite(t *testing.T) {
	path := t.TempDir() + "/bbs.db"
	db, err := sql.Open("sqlite", "file:"+path)
	must(t, err)
	for _, stmt := range migrations[0] {
		_, err := db.Exec(strings.ReplaceAll(stmt, "{key}", "TEXT"))
		must(t, err)
	}
	_, err = db.Exec(`INSERT INTO meta (name, value) VALUES ('old', 'row')`)
	must(t, err)
	must(t, db.Close())
	s, err := Open(path)
	must(t, err)
	defer s.Close()
	if v, _ := s.Version(); v != SchemaVersion() {
		t.Fatalf("version = %d, want %d", v, SchemaVersion())
	}
	if got, _, _ := s.GetMeta("old"); got != "row" {
		t.Fatalf("old row = %q", got)
	}
}

// TestPostgresConcurrentOpen: two processes' worth of stores opening one new database
// at once migrate it once, without an error.
func TestPostgresConcurrentOpen(t *testing.T) {
	u := pgURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(u)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		must(t, err)
	}
}

// TestPostgresBadURL: a malformed or unreachable URL is a clear error, without the
// password.
func TestPostgresBadURL(t *testing.T) {
	for _, u := range []string{
		"postgres://user:secret@127.0.0.1:notaport/db",
		"postgres://user:secret@/db?host=/nonexistent-dir-diegolab&connect_timeout=2",
	} {
		_, err := OpenPostgres(u)
		if err == nil {
			t.Fatalf("%s: opened", u)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "sqlstore") {
			t.Fatalf("error does not say where it comes from: %v", err)
		}
	}
}
