package bbsserver

import (
	"time"

	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/real/sqlstore"
)

// Store is what the server keeps its state in: the BBS's rows, its meta values and
// the API's JSON records, changed in transactions (one per request or tick, see do).
// sqlstore.Store (SQLite, the default) and sqlstore.Mem (in memory: tests and fuzzing)
// are the two.
type Store interface {
	bbs.Store
	sqlstore.SpecLister
	Begin() error
	Commit() error
	Rollback() error
	Close() error
	GetMeta(name string) (string, bool, error)
	PutMeta(name, value string) error
	GetSpec(kind, name string, v any) (bool, error)
	PutSpec(kind, name string, v any) error
	DeleteSpec(kind, name string) error
	// The lock and the cells' presences (lease.go).
	sqlstore.PresenceLister
	AcquireLock(name, owner, value string, now time.Time, ttl time.Duration) (bool, error)
	LockHolder(name string) (owner, value string, expires time.Time, ok bool, err error)
	ReleaseLock(name, owner string) error
	FenceLock(name, owner string, now time.Time) (bool, error)
	PutPresence(cellID string, body any, expiresAt time.Duration) error
	DeletePresence(cellID string) error
	Dialect() string
}

// locker holds the BBS's lock (lease.go): a connection of its own to the database,
// outside the store's transactions.
type locker interface {
	AcquireLock(name, owner, value string, now time.Time, ttl time.Duration) (bool, error)
	LockHolder(name string) (owner, value string, expires time.Time, ok bool, err error)
	ReleaseLock(name, owner string) error
	Close() error
}

// storeLocker is an in-memory store used as its own locker; closing it is the
// server's business (it closes the store).
type storeLocker struct{ Store }

func (storeLocker) Close() error { return nil }

var (
	_ locker = (*sqlstore.Store)(nil)
	_ locker = storeLocker{sqlstore.NewMem()}
)

var (
	_ Store = (*sqlstore.Store)(nil)
	_ Store = (*sqlstore.Mem)(nil)
)
