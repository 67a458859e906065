package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dialect is what differs between the two databases. Everything else — the
// statements of every store method, the migrations, the upserts — is the same text.
type dialect struct {
	name string
	// key is the column type of text keys: lists are ordered by them, and the store
	// promises byte order (as strings.Compare), whatever the database's locale.
	key string
	// migrationLock, run first in each migration transaction, keeps two BBS processes
	// that start at once from migrating together ("" when the database needs none).
	migrationLock string
}

var (
	sqlite = dialect{name: "sqlite", key: "TEXT"}
	// PostgreSQL: COLLATE "C" is byte order; the advisory lock serializes migrations
	// across processes (its key is an arbitrary constant of this project).
	postgres = dialect{name: "postgres", key: `TEXT COLLATE "C"`,
		migrationLock: `SELECT pg_advisory_xact_lock(7261120020)`}
)

// IsPostgresURL reports whether target names a PostgreSQL database
// (postgres://... or postgresql://...) rather than a SQLite file.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// OpenTarget opens the store named by target: a postgres:// URL opens PostgreSQL,
// anything else is the path of a SQLite file.
func OpenTarget(target string) (*Store, error) {
	if IsPostgresURL(target) {
		return OpenPostgres(target)
	}
	return Open(target)
}

// Open opens (creating if needed) the SQLite database at path, in WAL mode with a
// busy timeout, and creates or migrates the schema.
func Open(path string) (*Store, error) {
	// _txlock=immediate: a transaction takes the write lock when it begins, so that
	// another connection's write (the BBS's lock renewal, lease.go) makes it wait
	// (busy_timeout) rather than fail later with SQLITE_BUSY_SNAPSHOT when a
	// transaction that has read tries to write.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	if mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("sqlstore: %s: journal mode is %q, want wal", path, mode)
	}
	return finishOpen(db, sqlite, path)
}

// OpenPostgres connects to the PostgreSQL database of url (pgx's URL syntax, e.g.
// postgres://user@host:5432/db?sslmode=disable or ?host=/socket/dir) and creates or
// migrates the schema. The server must be reachable within 10 s.
func OpenPostgres(url string) (*Store, error) {
	cfg, err := ParsePostgresURL(url)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	// The store runs one transaction at a time (the BBS server's lock); a second
	// connection serves reads that may come while none is open.
	db.SetMaxOpenConns(2)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connecting to %s: %w", redact(url), err)
	}
	return finishOpen(db, postgres, redact(url))
}

// ParsePostgresURL parses a postgres:// URL into pgx's configuration; the error names
// what is wrong and never echoes a password.
func ParsePostgresURL(u string) (*pgx.ConnConfig, error) {
	if !IsPostgresURL(u) {
		return nil, fmt.Errorf("sqlstore: %q is not a postgres:// or postgresql:// URL", redact(u))
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: database URL %s: %v", redact(u), errors.Unwrap(err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	// A BBS stopped (SIGSTOP) in the middle of a transaction would hold its rows,
	// and its lock row, until it resumed: the server ends such a session instead
	// (the resumed BBS's commit fails). A URL may set its own value; the BBS sets
	// its lock TTL (bbsserver's openStore), so that a passive can take over.
	if _, ok := cfg.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "30000"
	}
	return cfg, nil
}

// redact hides the password of a URL in messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(an unparsable URL)"
	}
	return p.Redacted()
}

func finishOpen(db *sql.DB, d dialect, where string) (*Store, error) {
	s := &Store{db: db, d: d}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: %s: %w", where, err)
	}
	return s, nil
}

// Dialect names the database behind the store: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }
