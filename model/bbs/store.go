package bbs

import (
	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs/internal/memstore"
	"github.com/diegolab/diegolab/model/converge"
)

// Store is the persistence the BBS needs: narrow CRUD with sorted iteration, shaped so a
// SQL implementation maps every method to one indexed statement:
//
//	desired_lrps(process_guid PK)            GetDesiredLRP, PutDesiredLRP, DeleteDesiredLRP, ListDesiredLRPs
//	actual_lrps(process_guid, idx, presence PK; INDEX cell_id)
//	                                          GetActualLRP, PutActualLRP, DeleteActualLRP,
//	                                          ListActualLRPsByProcess, ListActualLRPsByCell, ListActualLRPs
//	tasks(task_guid PK)                       GetTask, PutTask, DeleteTask, ListTasks
//	domains(domain PK)                        PutDomain, DeleteDomain, ListDomains
//
// Put is an upsert. Delete of a missing row is not an error. List methods return sorted
// copies: desired and tasks by guid, domains by name, actual LRPs by (process guid,
// index, presence). The BBS is the only writer and calls the Store from one goroutine.
// Errors are storage failures (a SQL store's I/O); the in-memory store never fails.
//
// A Store may also implement rowStore and prefetchStore (below): the same work with
// fewer lookups. The BBS runs the same operations either way.
type Store interface {
	GetDesiredLRP(guid string) (model.DesiredLRP, bool, error)
	PutDesiredLRP(d model.DesiredLRP) error
	DeleteDesiredLRP(guid string) error
	ListDesiredLRPs() ([]model.DesiredLRP, error)

	GetActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool, error)
	PutActualLRP(a model.ActualLRP) error
	DeleteActualLRP(key model.ActualLRPKey, p model.Presence) error
	ListActualLRPsByProcess(guid string) ([]model.ActualLRP, error)
	ListActualLRPsByCell(cellID string) ([]model.ActualLRP, error)
	ListActualLRPs() ([]model.ActualLRP, error)

	GetTask(guid string) (model.Task, bool, error)
	PutTask(t model.Task) error
	DeleteTask(guid string) error
	ListTasks() ([]model.Task, error)

	PutDomain(d converge.Domain) error
	DeleteDomain(name string) error
	ListDomains() ([]converge.Domain, error)
}

// MemStore is the in-memory Store of the simulation, laid out for millions of rows
// (model/bbs/internal/memstore): it implements rowStore and prefetchStore too.
type MemStore = memstore.Store

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore { return memstore.New() }

var (
	_ Store         = (*MemStore)(nil)
	_ rowStore      = (*MemStore)(nil)
	_ prefetchStore = (*MemStore)(nil)
)

// CompareActualLRP orders rows by process guid, index, then presence (the order of the
// Store's lists; model.CompareActualLRPs).
func CompareActualLRP(a, b model.ActualLRP) int { return model.CompareActualLRPs(a, b) }

// rowStore is what a Store may offer besides Store so that the BBS reads and writes
// actual LRPs with fewer lookups: each method means what the Store calls its comment
// names, and a Store without it gets exactly those calls (plainRows). The in-memory
// store keeps the convergence tracker's hints beside its rows and hands them back with
// each write, so the tracker spares its own lookups; a plain store returns no hints and
// the tracker looks the guid and cells up itself.
//
// No pointer to the caller's memory goes in: a pointer passed through an interface
// escapes, and the BBS's row buffers would then each be a heap allocation.
type rowStore interface {
	// ActualLRPs reads the ORDINARY, EVACUATING and SUSPECT rows of key; found[p] tells
	// which exist (GetActualLRP for each presence). rows is the store's own buffer,
	// valid until the next call; only its found entries are set.
	ActualLRPs(key model.ActualLRPKey) (rows *[3]model.ActualLRP, found [3]bool, err error)
	// PutActualLRPHinted is PutActualLRP, returning the tracker's hints for the change.
	PutActualLRPHinted(a model.ActualLRP) (converge.Hints, error)
	// DeleteActualLRPHinted is DeleteActualLRP, returning the tracker's hints for it.
	DeleteActualLRPHinted(key model.ActualLRPKey, p model.Presence) (converge.Hints, error)
	// HasDomain reports whether the domain has a row (ListDomains and a search).
	HasDomain(name string) (bool, error)
	// ReserveActualLRPs makes room for n more rows of guid (nothing: it changes no result).
	ReserveActualLRPs(guid string, n int)
	// InsertDesiredLRPs stores the desired LRP template under each guid in order
	// (PutDesiredLRP), stopping before the first guid that has one (GetDesiredLRP; a
	// guid repeated in guids has the row just written), and returns how many it stored.
	InsertDesiredLRPs(template model.DesiredLRP, guids []string) (int, error)
}

// prefetchStore is what a Store may offer besides Store to have an operation's cache
// misses overlap: hints to the CPU, which change no result (a Store without it gets
// none).
type prefetchStore interface {
	// AttachTracker gives the store the BBS's convergence tracker (once, at New), whose
	// records the prefetches below include.
	AttachTracker(t *converge.Tracker)
	// PrefetchGUID starts loading what an operation on guid will read.
	PrefetchGUID(guid string)
	// PrefetchLeave starts loading what moving the ORDINARY row of key off its cell (a
	// crash) will touch.
	PrefetchLeave(key model.ActualLRPKey)
	// PrefetchEnter starts loading what putting a row on cellID (a claim) will touch.
	PrefetchEnter(cellID string)
}

// plainRows is rowStore over any Store.
type plainRows struct {
	Store
	buf [3]model.ActualLRP
}

func (s *plainRows) ActualLRPs(key model.ActualLRPKey) (rows *[3]model.ActualLRP, found [3]bool, err error) {
	rows = &s.buf
	for p := model.Ordinary; p <= model.Suspect; p++ {
		if rows[p], found[p], err = s.GetActualLRP(key, p); err != nil {
			return rows, found, err
		}
	}
	return rows, found, nil
}

func (s *plainRows) PutActualLRPHinted(a model.ActualLRP) (converge.Hints, error) {
	return converge.Hints{}, s.PutActualLRP(a)
}

func (s *plainRows) DeleteActualLRPHinted(key model.ActualLRPKey, p model.Presence) (converge.Hints, error) {
	return converge.Hints{}, s.DeleteActualLRP(key, p)
}

func (s *plainRows) HasDomain(name string) (bool, error) {
	ds, err := s.ListDomains()
	if err != nil {
		return false, err
	}
	for _, d := range ds {
		if d.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func (*plainRows) ReserveActualLRPs(string, int) {}

// noPrefetch is prefetchStore for a Store without it: no hints.
type noPrefetch struct{}

func (noPrefetch) AttachTracker(*converge.Tracker)  {}
func (noPrefetch) PrefetchGUID(string)              {}
func (noPrefetch) PrefetchLeave(model.ActualLRPKey) {}
func (noPrefetch) PrefetchEnter(string)             {}

// sharedDomains is a Store that can hand out its sorted domain list without copying it
// (MemStore): convergence reads the domains at every pass and never modifies them, and
// the same slice until a domain changes lets its tracker skip the unchanged.
type sharedDomains interface {
	SharedDomains() []converge.Domain
}
