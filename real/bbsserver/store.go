package bbsserver

import (
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
}

var (
	_ Store = (*sqlstore.Store)(nil)
	_ Store = (*sqlstore.Mem)(nil)
)
