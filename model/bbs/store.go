package bbs

import (
	"cmp"
	"slices"
	"strings"

	"github.com/diegolab/diegolab/model"
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

// MemStore is the in-memory Store of the simulation.
type MemStore struct {
	desired map[string]model.DesiredLRP
	// actual holds each process guid's rows in a slice sorted by (index, presence): most
	// apps have a few instances, and a small slice costs a fraction of a small map.
	actual  map[string][]model.ActualLRP
	byCell  map[string]map[actualID]struct{}
	tasks   map[string]model.Task
	domains map[string]converge.Domain
}

type actualID struct {
	key      model.ActualLRPKey
	presence model.Presence
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty in-memory store.
func NewMemStore() *MemStore {
	return &MemStore{
		desired: map[string]model.DesiredLRP{},
		actual:  map[string][]model.ActualLRP{},
		byCell:  map[string]map[actualID]struct{}{},
		tasks:   map[string]model.Task{},
		domains: map[string]converge.Domain{},
	}
}

func (m *MemStore) GetDesiredLRP(guid string) (model.DesiredLRP, bool, error) {
	d, ok := m.desired[guid]
	return d, ok, nil
}

// PutDesiredLRP stores a copy (slices cloned, so the caller may reuse its own).
func (m *MemStore) PutDesiredLRP(d model.DesiredLRP) error {
	d.PlacementTags = slices.Clone(d.PlacementTags)
	d.VolumeDrivers = slices.Clone(d.VolumeDrivers)
	d.Routes = slices.Clone(d.Routes)
	m.desired[d.ProcessGUID] = d
	return nil
}

func (m *MemStore) DeleteDesiredLRP(guid string) error {
	delete(m.desired, guid)
	return nil
}

func (m *MemStore) ListDesiredLRPs() ([]model.DesiredLRP, error) {
	out := make([]model.DesiredLRP, 0, len(m.desired))
	for _, d := range m.desired {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b model.DesiredLRP) int { return strings.Compare(a.ProcessGUID, b.ProcessGUID) })
	return out, nil
}

// findActual returns the position of (index, p) in rows, sorted by (index, presence),
// and whether it is there.
func findActual(rows []model.ActualLRP, index int, p model.Presence) (int, bool) {
	return slices.BinarySearchFunc(rows, index, func(a model.ActualLRP, _ int) int {
		switch {
		case a.Index != index:
			return cmp.Compare(a.Index, index)
		default:
			return cmp.Compare(a.Presence, p)
		}
	})
}

func (m *MemStore) GetActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool, error) {
	rows := m.actual[key.ProcessGUID]
	if i, ok := findActual(rows, key.Index, p); ok {
		return rows[i], true, nil
	}
	return model.ActualLRP{}, false, nil
}

func (m *MemStore) PutActualLRP(a model.ActualLRP) error {
	rows := m.actual[a.ProcessGUID]
	i, ok := findActual(rows, a.Index, a.Presence)
	if ok {
		if old := rows[i]; old.CellID != a.CellID {
			m.unindexCell(old)
		}
		rows[i] = a
	} else {
		m.actual[a.ProcessGUID] = slices.Insert(rows, i, a)
	}
	if a.CellID != "" {
		c := m.byCell[a.CellID]
		if c == nil {
			c = map[actualID]struct{}{}
			m.byCell[a.CellID] = c
		}
		c[actualID{a.ActualLRPKey, a.Presence}] = struct{}{}
	}
	return nil
}

func (m *MemStore) unindexCell(a model.ActualLRP) {
	if a.CellID == "" {
		return
	}
	c := m.byCell[a.CellID]
	delete(c, actualID{a.ActualLRPKey, a.Presence})
	if len(c) == 0 {
		delete(m.byCell, a.CellID)
	}
}

func (m *MemStore) DeleteActualLRP(key model.ActualLRPKey, p model.Presence) error {
	rows := m.actual[key.ProcessGUID]
	i, ok := findActual(rows, key.Index, p)
	if !ok {
		return nil
	}
	m.unindexCell(rows[i])
	rows = slices.Delete(rows, i, i+1)
	if len(rows) == 0 {
		delete(m.actual, key.ProcessGUID)
	} else {
		m.actual[key.ProcessGUID] = rows
	}
	return nil
}

func (m *MemStore) ListActualLRPsByProcess(guid string) ([]model.ActualLRP, error) {
	return slices.Clone(m.actual[guid]), nil // already in (index, presence) order
}

func (m *MemStore) ListActualLRPsByCell(cellID string) ([]model.ActualLRP, error) {
	ids := m.byCell[cellID]
	out := make([]model.ActualLRP, 0, len(ids))
	for id := range ids {
		rows := m.actual[id.key.ProcessGUID]
		if i, ok := findActual(rows, id.key.Index, id.presence); ok {
			out = append(out, rows[i])
		}
	}
	slices.SortFunc(out, CompareActualLRP)
	return out, nil
}

func (m *MemStore) ListActualLRPs() ([]model.ActualLRP, error) {
	var out []model.ActualLRP
	for _, rows := range m.actual {
		out = append(out, rows...)
	}
	slices.SortFunc(out, CompareActualLRP)
	return out, nil
}

func (m *MemStore) GetTask(guid string) (model.Task, bool, error) {
	t, ok := m.tasks[guid]
	return t, ok, nil
}

// PutTask stores a copy (slices cloned).
func (m *MemStore) PutTask(t model.Task) error {
	t.PlacementTags = slices.Clone(t.PlacementTags)
	t.VolumeDrivers = slices.Clone(t.VolumeDrivers)
	m.tasks[t.GUID] = t
	return nil
}

func (m *MemStore) DeleteTask(guid string) error {
	delete(m.tasks, guid)
	return nil
}

func (m *MemStore) ListTasks() ([]model.Task, error) {
	out := make([]model.Task, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b model.Task) int { return strings.Compare(a.GUID, b.GUID) })
	return out, nil
}

func (m *MemStore) PutDomain(d converge.Domain) error {
	m.domains[d.Name] = d
	return nil
}

func (m *MemStore) DeleteDomain(name string) error {
	delete(m.domains, name)
	return nil
}

func (m *MemStore) ListDomains() ([]converge.Domain, error) {
	out := make([]converge.Domain, 0, len(m.domains))
	for _, d := range m.domains {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b converge.Domain) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// CompareActualLRP orders rows by process guid, index, then presence.
func CompareActualLRP(a, b model.ActualLRP) int {
	if c := strings.Compare(a.ProcessGUID, b.ProcessGUID); c != 0 {
		return c
	}
	if a.Index != b.Index {
		return a.Index - b.Index
	}
	return int(a.Presence) - int(b.Presence)
}
