package bbs

import "github.com/diegolab/diegolab/model"

// Open returns a BBS over a store that may already hold rows (a restarted BBS): the
// convergence tracker and the per-state counts are rebuilt from the stored desired
// LRPs, actual LRPs and tasks, so the next ConvergePlan equals the one the BBS that
// wrote the rows would have computed. Over an empty store it equals New.
func Open(store Store, cfg Config) (*BBS, error) {
	b := New(store, cfg)
	desired, err := store.ListDesiredLRPs()
	if err != nil {
		return nil, storeErr("list desired", err)
	}
	for i := range desired {
		b.tracker.DesiredChanged(nil, &desired[i])
	}
	actual, err := store.ListActualLRPs()
	if err != nil {
		return nil, storeErr("list actual", err)
	}
	for i := range actual {
		a := &actual[i]
		if err := a.Validate(); err != nil {
			return nil, storeErr("actual "+a.ActualLRPKey.String()+"/"+a.Presence.String(), err)
		}
		b.counts[a.Presence][a.State]++
		b.tracker.ActualChanged(nil, a)
	}
	tasks, err := store.ListTasks()
	if err != nil {
		return nil, storeErr("list tasks", err)
	}
	for i := range tasks {
		if tasks[i].State == model.TaskInvalid {
			return nil, storeErr("task "+tasks[i].GUID, &model.ValidationError{Field: "state", Problem: "INVALID in the store"})
		}
		b.tracker.TaskChanged(nil, &tasks[i])
	}
	return b, nil
}
