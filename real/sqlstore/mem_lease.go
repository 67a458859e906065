package sqlstore

import (
	"maps"
	"slices"
	"time"
)

// The lock and presence tables of lease.go, in memory, with the same rules: one
// process holds a Mem, so the lock is contested only by the callers of that process
// (tests of the BBS's lease over an in-memory store).

type memLock struct {
	owner, value string
	expires      int64 // Unix nanoseconds
}

type memPresence struct {
	body    string
	expires time.Duration // cluster time
}

// Dialect names the store's kind.
func (m *Mem) Dialect() string { return "memory" }

// AcquireLock takes or renews lock name for owner (Store.AcquireLock).
func (m *Mem) AcquireLock(name, owner, value string, now time.Time, ttl time.Duration) (bool, error) {
	if l, ok := m.locks[name]; ok && l.owner != owner && l.expires > now.UnixNano() {
		return false, nil
	}
	set(m, m.locks, name, memLock{owner: owner, value: value, expires: now.Add(ttl).UnixNano()}, false)
	return true, nil
}

// ReleaseLock gives lock name up if owner holds it.
func (m *Mem) ReleaseLock(name, owner string) error {
	if l, ok := m.locks[name]; ok && l.owner == owner {
		set(m, m.locks, name, memLock{}, true)
	}
	return nil
}

// LockHolder returns the owner, value and expiry of lock name (ok false: none).
func (m *Mem) LockHolder(name string) (owner, value string, expires time.Time, ok bool, err error) {
	l, ok := m.locks[name]
	if !ok {
		return "", "", time.Time{}, false, nil
	}
	return l.owner, l.value, time.Unix(0, l.expires), true, nil
}

// FenceLock says whether owner still holds lock name unexpired at now.
func (m *Mem) FenceLock(name, owner string, now time.Time) (bool, error) {
	l, ok := m.locks[name]
	return ok && l.owner == owner && l.expires > now.UnixNano(), nil
}

// PutPresence records cell's presence body until expiresAt (cluster time).
func (m *Mem) PutPresence(cellID string, body any, expiresAt time.Duration) error {
	b, err := encode(body)
	if err != nil {
		return err
	}
	set(m, m.presences, cellID, memPresence{body: b, expires: expiresAt}, false)
	return nil
}

// DeletePresence removes cell's presence.
func (m *Mem) DeletePresence(cellID string) error {
	set(m, m.presences, cellID, memPresence{}, true)
	return nil
}

// PresenceBodies returns the presences unexpired at now, by cell id, and deletes the
// expired ones.
func (m *Mem) PresenceBodies(now time.Duration) ([][]byte, error) {
	var out [][]byte
	for _, id := range slices.Sorted(maps.Keys(m.presences)) {
		p := m.presences[id]
		if p.expires <= now {
			set(m, m.presences, id, memPresence{}, true)
			continue
		}
		out = append(out, []byte(p.body))
	}
	return out, nil
}
