package sqlstore

import (
	"encoding/json"
	"fmt"
	"time"
)

// Locks and presences, as Locket keeps them (DIEGO.md §6.3), in the BBS's own
// database: a lock is one row (name, owner, value, expiry) that its owner renews
// before the expiry; anyone may take a lock whose expiry has passed. A presence is a
// cell's record with an expiry that its heartbeats push forward.
//
// Lock times are the callers' wall clocks (Unix nanoseconds): the processes sharing a
// database must share a clock to within a small fraction of the TTL (here they run on
// one machine).

// AcquireLock takes or renews lock name for owner, recording value (the holder's
// address) and an expiry of now+ttl. It succeeds when the lock is free, expired, or
// already owner's; held is false when another owner holds it unexpired.
// One statement: atomic on both dialects.
func (s *Store) AcquireLock(name, owner, value string, now time.Time, ttl time.Duration) (held bool, err error) {
	return s.lockRow(name, `INSERT INTO locks (name, owner, value, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, value = excluded.value, expires_at = excluded.expires_at
		WHERE locks.owner = excluded.owner OR locks.expires_at <= $5`,
		name, owner, value, now.Add(ttl).UnixNano(), now.UnixNano())
}

// lockRow runs a statement on lock name's row: true when it changed that row.
func (s *Store) lockRow(name, query string, args ...any) (bool, error) {
	res, err := s.q().Exec(query, args...)
	if err != nil {
		return false, fmt.Errorf("sqlstore: lock %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: lock %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLock gives lock name up if owner holds it (a clean shutdown: the passive
// need not wait for the expiry).
func (s *Store) ReleaseLock(name, owner string) error {
	return s.exec(`DELETE FROM locks WHERE name = $1 AND owner = $2`, name, owner)
}

// LockHolder returns the owner, value and expiry of lock name (ok false: no row).
func (s *Store) LockHolder(name string) (owner, value string, expires time.Time, ok bool, err error) {
	var exp int64
	err = s.q().QueryRow(`SELECT owner, value, expires_at FROM locks WHERE name = $1`, name).Scan(&owner, &value, &exp)
	if isNoRows(err) {
		return "", "", time.Time{}, false, nil
	}
	if err != nil {
		return "", "", time.Time{}, false, fmt.Errorf("sqlstore: lock %s: %w", name, err)
	}
	return owner, value, time.Unix(0, exp), true, nil
}

// FenceLock, run as the last statement of a write transaction, checks that owner
// still holds lock name unexpired at now, and keeps the row locked until the commit:
// a holder that lost the lock (it was stopped past the TTL and another took it) finds
// out here and rolls back, and no one can take the lock between the check and the
// commit. held is false when the lock is lost.
func (s *Store) FenceLock(name, owner string, now time.Time) (held bool, err error) {
	return s.lockRow(name, `UPDATE locks SET expires_at = expires_at WHERE name = $1 AND owner = $2 AND expires_at > $3`,
		name, owner, now.UnixNano())
}

// PutPresence records cell's presence body until expiresAt (cluster time).
func (s *Store) PutPresence(cellID string, body any, expiresAt time.Duration) error {
	b, err := encode(body)
	if err != nil {
		return err
	}
	return s.exec(`INSERT INTO presences (cell_id, body, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (cell_id) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at`, cellID, b, int64(expiresAt))
}

// DeletePresence removes cell's presence (a cell that left).
func (s *Store) DeletePresence(cellID string) error {
	return s.exec(`DELETE FROM presences WHERE cell_id = $1`, cellID)
}

// PresenceBodies returns the JSON bodies of the presences unexpired at now (cluster
// time), by cell id, and deletes the expired ones.
func (s *Store) PresenceBodies(now time.Duration) ([][]byte, error) {
	if err := s.exec(`DELETE FROM presences WHERE expires_at <= $1`, int64(now)); err != nil {
		return nil, err
	}
	bodies, err := listBodies[json.RawMessage](s, `SELECT body FROM presences ORDER BY cell_id`)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = b
	}
	return out, nil
}

// PresenceLister is a store that keeps presences (Store, Mem).
type PresenceLister interface {
	PresenceBodies(now time.Duration) ([][]byte, error)
}

// ListPresences returns the presences unexpired at now (cluster time), by cell id,
// and deletes the expired ones.
func ListPresences[T any](s PresenceLister, now time.Duration) ([]T, error) {
	bodies, err := s.PresenceBodies(now)
	if err != nil {
		return nil, err
	}
	return decodeAll[T](bodies)
}
