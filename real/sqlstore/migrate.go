package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// migrations are the schema's versions, in order: migrations[i] brings a database at
// version i to version i+1. A released migration is never edited; a change to the
// schema is a new entry. "{key}" stands for the dialect's text-key column type.
//
// Version 1 is the schema of the first SQLite BBS (its statements say IF NOT EXISTS,
// so a database from before versioning, which has the tables and no version row,
// migrates to 1 without change).
var migrations = [][]string{
	1 - 1: {
		`CREATE TABLE IF NOT EXISTS desired_lrps (process_guid {key} PRIMARY KEY, body TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS actual_lrps (process_guid {key} NOT NULL, idx INTEGER NOT NULL, presence INTEGER NOT NULL,
			cell_id {key} NOT NULL, body TEXT NOT NULL, PRIMARY KEY (process_guid, idx, presence))`,
		`CREATE INDEX IF NOT EXISTS actual_lrps_cell ON actual_lrps (cell_id)`,
		`CREATE TABLE IF NOT EXISTS tasks (task_guid {key} PRIMARY KEY, body TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS domains (name {key} PRIMARY KEY, expires_at BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS meta (name {key} PRIMARY KEY, value TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS specs (kind {key} NOT NULL, name {key} NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, name))`,
	},
	// Version 2: Locket's two records (lease.go). A lock's expires_at is wall-clock
	// Unix nanoseconds of the processes that share it; a presence's is the cluster
	// clock (time since the epoch in meta), as domains' are.
	2 - 1: {
		`CREATE TABLE locks (name {key} PRIMARY KEY, owner TEXT NOT NULL, value TEXT NOT NULL, expires_at BIGINT NOT NULL)`,
		`CREATE TABLE presences (cell_id {key} PRIMARY KEY, body TEXT NOT NULL, expires_at BIGINT NOT NULL)`,
	},
}

// SchemaVersion is the newest schema this build knows.
func SchemaVersion() int { return len(migrations) }

// ErrSchemaTooNew: the database was migrated by a newer diegolab; this one refuses to
// touch it rather than misread rows it does not understand.
var ErrSchemaTooNew = errors.New("database schema is newer than this diegolab knows")

// migrate brings the schema to SchemaVersion, one transaction per version, each
// recording its version in schema_version. Two processes migrating at once are
// serialized by the dialect's migration lock; the second finds the work done.
func (s *Store) migrate() error {
	ctx := context.Background()
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		// Two PostgreSQL processes creating the table at once: one loses the race
		// on the catalog; the table exists now.
		if _, err2 := s.db.ExecContext(ctx, `SELECT version FROM schema_version`); err2 != nil {
			return fmt.Errorf("schema_version: %w", err)
		}
	}
	for {
		done, err := s.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the next migration; done is true when there is none left.
func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback()
		}
	}()
	if s.d.migrationLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.migrationLock); err != nil {
			return false, fmt.Errorf("migration lock: %w", err)
		}
	}
	v, err := readVersion(ctx, tx)
	if err != nil {
		return false, err
	}
	if v > len(migrations) {
		return false, fmt.Errorf("%w: it is at version %d, this build knows versions up to %d (upgrade diegolab, or use another database)",
			ErrSchemaTooNew, v, len(migrations))
	}
	if v == len(migrations) {
		return true, nil
	}
	for _, stmt := range migrations[v] {
		if _, err := tx.ExecContext(ctx, strings.ReplaceAll(stmt, "{key}", s.d.key)); err != nil {
			return false, fmt.Errorf("migrating to schema version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, v+1); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrating to schema version %d: %w", v+1, err)
	}
	return false, nil
}

// readVersion is the recorded version (0 for a database without one).
func readVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var v int
	err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("schema_version: %w", err)
	}
	return v, nil
}

// Version returns the database's recorded schema version.
func (s *Store) Version() (int, error) {
	tx, err := s.db.Begin()
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	return readVersion(context.Background(), tx)
}
