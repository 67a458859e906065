package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/converge"
)

// Store is a bbs.Store on SQLite or PostgreSQL (dialect.go).
type Store struct {
	db *sql.DB
	tx *sql.Tx
	d  dialect
}

var _ bbs.Store = (*Store)(nil)

// Close closes the database (rolling back an open transaction).
func (s *Store) Close() error {
	if s.tx != nil {
		_ = s.tx.Rollback()
		s.tx = nil
	}
	return s.db.Close()
}

// Begin starts a transaction; every method runs in it until Commit or Rollback.
func (s *Store) Begin() error {
	if s.tx != nil {
		return errors.New("sqlstore: a transaction is already open")
	}
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	s.tx = tx
	return nil
}

// Commit commits the open transaction.
func (s *Store) Commit() error {
	if s.tx == nil {
		return errors.New("sqlstore: commit without a transaction")
	}
	err := s.tx.Commit()
	s.tx = nil
	if err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	return nil
}

// Rollback abandons the open transaction (no-op without one).
func (s *Store) Rollback() error {
	if s.tx == nil {
		return nil
	}
	err := s.tx.Rollback()
	s.tx = nil
	if err != nil {
		return fmt.Errorf("sqlstore: rollback: %w", err)
	}
	return nil
}

type execer interface {
	Exec(query string, args ...any) (sql.Result, error)
	Query(query string, args ...any) (*sql.Rows, error)
	QueryRow(query string, args ...any) *sql.Row
}

func (s *Store) q() execer {
	if s.tx != nil {
		return s.tx
	}
	return s.db
}

func (s *Store) exec(query string, args ...any) error {
	if _, err := s.q().Exec(query, args...); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	return nil
}

// getBody reads one JSON body into v; ok is false when no row matched.
func (s *Store) getBody(v any, query string, args ...any) (bool, error) {
	var body string
	err := s.q().QueryRow(query, args...).Scan(&body)
	if isNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: %w", err)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return false, fmt.Errorf("sqlstore: decoding row: %w", err)
	}
	return true, nil
}

func listBodies[T any](s *Store, query string, args ...any) ([]T, error) {
	rows, err := s.q().Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		var v T
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			return nil, fmt.Errorf("sqlstore: decoding row: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return out, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encoding row: %w", err)
	}
	return string(b), nil
}

func (s *Store) GetDesiredLRP(guid string) (model.DesiredLRP, bool, error) {
	var d model.DesiredLRP
	ok, err := s.getBody(&d, `SELECT body FROM desired_lrps WHERE process_guid = $1`, guid)
	return d, ok, err
}

func (s *Store) PutDesiredLRP(d model.DesiredLRP) error {
	body, err := encode(d)
	if err != nil {
		return err
	}
	return s.exec(`INSERT INTO desired_lrps (process_guid, body) VALUES ($1, $2)
		ON CONFLICT (process_guid) DO UPDATE SET body = excluded.body`, d.ProcessGUID, body)
}

func (s *Store) DeleteDesiredLRP(guid string) error {
	return s.exec(`DELETE FROM desired_lrps WHERE process_guid = $1`, guid)
}

func (s *Store) ListDesiredLRPs() ([]model.DesiredLRP, error) {
	return listBodies[model.DesiredLRP](s, `SELECT body FROM desired_lrps ORDER BY process_guid`)
}

func (s *Store) GetActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool, error) {
	var a model.ActualLRP
	ok, err := s.getBody(&a, `SELECT body FROM actual_lrps WHERE process_guid = $1 AND idx = $2 AND presence = $3`,
		key.ProcessGUID, key.Index, int(p))
	return a, ok, err
}

func (s *Store) PutActualLRP(a model.ActualLRP) error {
	body, err := encode(a)
	if err != nil {
		return err
	}
	return s.exec(`INSERT INTO actual_lrps (process_guid, idx, presence, cell_id, body) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (process_guid, idx, presence) DO UPDATE SET cell_id = excluded.cell_id, body = excluded.body`,
		a.ProcessGUID, a.Index, int(a.Presence), a.CellID, body)
}

func (s *Store) DeleteActualLRP(key model.ActualLRPKey, p model.Presence) error {
	return s.exec(`DELETE FROM actual_lrps WHERE process_guid = $1 AND idx = $2 AND presence = $3`,
		key.ProcessGUID, key.Index, int(p))
}

func (s *Store) ListActualLRPsByProcess(guid string) ([]model.ActualLRP, error) {
	return listBodies[model.ActualLRP](s, `SELECT body FROM actual_lrps WHERE process_guid = $1 ORDER BY idx, presence`, guid)
}

func (s *Store) ListActualLRPsByCell(cellID string) ([]model.ActualLRP, error) {
	if cellID == "" {
		return []model.ActualLRP{}, nil // rows without a cell are not on any cell
	}
	return listBodies[model.ActualLRP](s, `SELECT body FROM actual_lrps WHERE cell_id = $1 ORDER BY process_guid, idx, presence`, cellID)
}

func (s *Store) ListActualLRPs() ([]model.ActualLRP, error) {
	l, err := listBodies[model.ActualLRP](s, `SELECT body FROM actual_lrps ORDER BY process_guid, idx, presence`)
	// SQL orders text by bytes (C collation), as strings.Compare does; keep the
	// documented order even if a database collates differently.
	slices.SortStableFunc(l, bbs.CompareActualLRP)
	return l, err
}

func (s *Store) GetTask(guid string) (model.Task, bool, error) {
	var t model.Task
	ok, err := s.getBody(&t, `SELECT body FROM tasks WHERE task_guid = $1`, guid)
	return t, ok, err
}

func (s *Store) PutTask(t model.Task) error {
	body, err := encode(t)
	if err != nil {
		return err
	}
	return s.exec(`INSERT INTO tasks (task_guid, body) VALUES ($1, $2)
		ON CONFLICT (task_guid) DO UPDATE SET body = excluded.body`, t.GUID, body)
}

func (s *Store) DeleteTask(guid string) error {
	return s.exec(`DELETE FROM tasks WHERE task_guid = $1`, guid)
}

func (s *Store) ListTasks() ([]model.Task, error) {
	return listBodies[model.Task](s, `SELECT body FROM tasks ORDER BY task_guid`)
}

func (s *Store) PutDomain(d converge.Domain) error {
	return s.exec(`INSERT INTO domains (name, expires_at) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at`, d.Name, int64(d.ExpiresAt))
}

func (s *Store) DeleteDomain(name string) error {
	return s.exec(`DELETE FROM domains WHERE name = $1`, name)
}

func (s *Store) ListDomains() ([]converge.Domain, error) {
	rows, err := s.q().Query(`SELECT name, expires_at FROM domains ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	defer rows.Close()
	out := []converge.Domain{}
	for rows.Next() {
		var d converge.Domain
		var exp int64
		if err := rows.Scan(&d.Name, &exp); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		d.ExpiresAt = time.Duration(exp)
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetMeta reads a meta value ("" and false when unset).
func (s *Store) GetMeta(name string) (string, bool, error) {
	var v string
	err := s.q().QueryRow(`SELECT value FROM meta WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("sqlstore: %w", err)
	}
	return v, true, nil
}

// PutMeta sets a meta value.
func (s *Store) PutMeta(name, value string) error {
	return s.exec(`INSERT INTO meta (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
}

// GetSpec reads the JSON record (kind, name) into v.
func (s *Store) GetSpec(kind, name string, v any) (bool, error) {
	return s.getBody(v, `SELECT body FROM specs WHERE kind = $1 AND name = $2`, kind, name)
}

// PutSpec stores v as the JSON record (kind, name).
func (s *Store) PutSpec(kind, name string, v any) error {
	body, err := encode(v)
	if err != nil {
		return err
	}
	return s.exec(`INSERT INTO specs (kind, name, body) VALUES ($1, $2, $3)
		ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body`, kind, name, body)
}

// DeleteSpec removes the record (kind, name).
func (s *Store) DeleteSpec(kind, name string) error {
	return s.exec(`DELETE FROM specs WHERE kind = $1 AND name = $2`, kind, name)
}

// SpecBodies returns the JSON body of every record of kind, ordered by name.
func (s *Store) SpecBodies(kind string) ([][]byte, error) {
	rows, err := s.q().Query(`SELECT body FROM specs WHERE kind = $1 ORDER BY name`, kind)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		out = append(out, body)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return out, nil
}

// SpecLister is a store that keeps JSON records by kind (Store, Mem).
type SpecLister interface {
	SpecBodies(kind string) ([][]byte, error)
}

// ListSpecs returns every record of kind, ordered by name.
func ListSpecs[T any](s SpecLister, kind string) ([]T, error) {
	bodies, err := s.SpecBodies(kind)
	if err != nil {
		return nil, err
	}
	return decodeAll[T](bodies)
}

// decodeAll decodes JSON row bodies into Ts, in order.
func decodeAll[T any](bodies [][]byte) ([]T, error) {
	out := []T{}
	for _, b := range bodies {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("sqlstore: decoding row: %w", err)
		}
		out = append(out, v)
	}
	return out, nil
}
