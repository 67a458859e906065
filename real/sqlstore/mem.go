package sqlstore

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/converge"
)

// Mem holds the same tables as Store, with the same rows (JSON bodies), the same
// orders and the same transaction rules (Begin, then Commit or Rollback; without a
// transaction every call commits at once), in memory. Nothing survives the process:
// it is for tests and fuzzing, where a SQLite transaction per request would spend
// the time in SQLite instead of in the handlers under test. Its methods are not safe
// for concurrent use (the BBS serializes its store calls, as it does for Store).
type Mem struct {
	desired map[string]string
	actual  map[actualKey]actualRow
	tasks   map[string]string
	domains map[string]time.Duration
	meta    map[string]string
	specs   map[specKey]string
	// locks and presences: mem_lease.go
	locks     map[string]memLock
	presences map[string]memPresence
	// undo holds, while a transaction is open, what restores each row it changed,
	// in the order of the changes (nil: no transaction).
	undo []func()
	inTx bool
}

var _ bbs.Store = (*Mem)(nil)

type actualKey struct {
	guid     string
	index    int
	presence model.Presence
}

type actualRow struct {
	cell, body string
}

type specKey struct{ kind, name string }

// NewMem returns an empty in-memory store.
func NewMem() *Mem {
	return &Mem{desired: map[string]string{}, actual: map[actualKey]actualRow{}, tasks: map[string]string{},
		domains: map[string]time.Duration{}, meta: map[string]string{}, specs: map[specKey]string{},
		locks: map[string]memLock{}, presences: map[string]memPresence{}}
}

// Close abandons an open transaction.
func (m *Mem) Close() error { return m.Rollback() }

// Begin starts a transaction.
func (m *Mem) Begin() error {
	if m.inTx {
		return errors.New("sqlstore: a transaction is already open")
	}
	m.inTx, m.undo = true, m.undo[:0]
	return nil
}

// Commit keeps the transaction's changes.
func (m *Mem) Commit() error {
	if !m.inTx {
		return errors.New("sqlstore: commit without a transaction")
	}
	m.inTx, m.undo = false, m.undo[:0]
	return nil
}

// Rollback undoes the transaction's changes, newest first (no-op without one).
func (m *Mem) Rollback() error {
	for i := len(m.undo) - 1; i >= 0; i-- {
		m.undo[i]()
	}
	m.inTx, m.undo = false, m.undo[:0]
	return nil
}

// set writes (or, with del, deletes) row k of table t, remembering its old value
// while a transaction is open.
func set[K comparable, V any](m *Mem, t map[K]V, k K, v V, del bool) {
	if m.inTx {
		old, had := t[k]
		m.undo = append(m.undo, func() {
			if had {
				t[k] = old
			} else {
				delete(t, k)
			}
		})
	}
	if del {
		delete(t, k)
	} else {
		t[k] = v
	}
}

func decodeRow(body string, v any) error {
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("sqlstore: decoding row: %w", err)
	}
	return nil
}

// getRow decodes row k of t into v; ok is false when there is none.
func getRow[K comparable](t map[K]string, k K, v any) (bool, error) {
	body, ok := t[k]
	if !ok {
		return false, nil
	}
	return true, decodeRow(body, v)
}

// listRows decodes the rows of t whose key keep accepts, in the order of less.
func listRows[T any, K comparable](t map[K]string, keep func(K) bool, less func(a, b K) int) ([]T, error) {
	keys := slices.SortedFunc(maps.Keys(t), less)
	out := []T{}
	for _, k := range keys {
		if keep != nil && !keep(k) {
			continue
		}
		var v T
		if err := decodeRow(t[k], &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (m *Mem) GetDesiredLRP(guid string) (model.DesiredLRP, bool, error) {
	var d model.DesiredLRP
	ok, err := getRow(m.desired, guid, &d)
	return d, ok, err
}

func (m *Mem) PutDesiredLRP(d model.DesiredLRP) error {
	body, err := encode(d)
	if err != nil {
		return err
	}
	set(m, m.desired, d.ProcessGUID, body, false)
	return nil
}

func (m *Mem) DeleteDesiredLRP(guid string) error {
	set(m, m.desired, guid, "", true)
	return nil
}

func (m *Mem) ListDesiredLRPs() ([]model.DesiredLRP, error) {
	return listRows[model.DesiredLRP](m.desired, nil, strings.Compare)
}

func (m *Mem) GetActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool, error) {
	var a model.ActualLRP
	row, ok := m.actual[actualKey{key.ProcessGUID, key.Index, p}]
	if !ok {
		return a, false, nil
	}
	return a, true, decodeRow(row.body, &a)
}

func (m *Mem) PutActualLRP(a model.ActualLRP) error {
	body, err := encode(a)
	if err != nil {
		return err
	}
	set(m, m.actual, actualKey{a.ProcessGUID, a.Index, a.Presence}, actualRow{cell: a.CellID, body: body}, false)
	return nil
}

func (m *Mem) DeleteActualLRP(key model.ActualLRPKey, p model.Presence) error {
	set(m, m.actual, actualKey{key.ProcessGUID, key.Index, p}, actualRow{}, true)
	return nil
}

// listActual decodes the actual rows keep accepts, ordered as the SQL store orders
// them (process guid, index, presence).
func (m *Mem) listActual(keep func(actualKey, actualRow) bool) ([]model.ActualLRP, error) {
	keys := slices.SortedFunc(maps.Keys(m.actual), func(a, b actualKey) int {
		return cmp.Or(strings.Compare(a.guid, b.guid), cmp.Compare(a.index, b.index), cmp.Compare(a.presence, b.presence))
	})
	out := []model.ActualLRP{}
	for _, k := range keys {
		row := m.actual[k]
		if !keep(k, row) {
			continue
		}
		var a model.ActualLRP
		if err := decodeRow(row.body, &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func (m *Mem) ListActualLRPsByProcess(guid string) ([]model.ActualLRP, error) {
	return m.listActual(func(k actualKey, _ actualRow) bool { return k.guid == guid })
}

func (m *Mem) ListActualLRPsByCell(cellID string) ([]model.ActualLRP, error) {
	if cellID == "" {
		return []model.ActualLRP{}, nil // rows without a cell are not on any cell
	}
	return m.listActual(func(_ actualKey, r actualRow) bool { return r.cell == cellID })
}

func (m *Mem) ListActualLRPs() ([]model.ActualLRP, error) {
	l, err := m.listActual(func(actualKey, actualRow) bool { return true })
	slices.SortStableFunc(l, bbs.CompareActualLRP)
	return l, err
}

func (m *Mem) GetTask(guid string) (model.Task, bool, error) {
	var t model.Task
	ok, err := getRow(m.tasks, guid, &t)
	return t, ok, err
}

func (m *Mem) PutTask(t model.Task) error {
	body, err := encode(t)
	if err != nil {
		return err
	}
	set(m, m.tasks, t.GUID, body, false)
	return nil
}

func (m *Mem) DeleteTask(guid string) error {
	set(m, m.tasks, guid, "", true)
	return nil
}

func (m *Mem) ListTasks() ([]model.Task, error) {
	return listRows[model.Task](m.tasks, nil, strings.Compare)
}

func (m *Mem) PutDomain(d converge.Domain) error {
	set(m, m.domains, d.Name, d.ExpiresAt, false)
	return nil
}

func (m *Mem) DeleteDomain(name string) error {
	set(m, m.domains, name, 0, true)
	return nil
}

func (m *Mem) ListDomains() ([]converge.Domain, error) {
	out := []converge.Domain{}
	for _, name := range slices.Sorted(maps.Keys(m.domains)) {
		out = append(out, converge.Domain{Name: name, ExpiresAt: m.domains[name]})
	}
	return out, nil
}

// GetMeta reads a meta value ("" and false when unset).
func (m *Mem) GetMeta(name string) (string, bool, error) {
	v, ok := m.meta[name]
	return v, ok, nil
}

// PutMeta sets a meta value.
func (m *Mem) PutMeta(name, value string) error {
	set(m, m.meta, name, value, false)
	return nil
}

// GetSpec reads the JSON record (kind, name) into v.
func (m *Mem) GetSpec(kind, name string, v any) (bool, error) {
	return getRow(m.specs, specKey{kind, name}, v)
}

// PutSpec stores v as the JSON record (kind, name).
func (m *Mem) PutSpec(kind, name string, v any) error {
	body, err := encode(v)
	if err != nil {
		return err
	}
	set(m, m.specs, specKey{kind, name}, body, false)
	return nil
}

// DeleteSpec removes the record (kind, name).
func (m *Mem) DeleteSpec(kind, name string) error {
	set(m, m.specs, specKey{kind, name}, "", true)
	return nil
}

// SpecBodies returns the JSON body of every record of kind, ordered by name.
func (m *Mem) SpecBodies(kind string) ([][]byte, error) {
	var out [][]byte
	for _, k := range slices.SortedFunc(maps.Keys(m.specs), func(a, b specKey) int {
		return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.name, b.name))
	}) {
		if k.kind == kind {
			out = append(out, []byte(m.specs[k]))
		}
	}
	return out, nil
}
