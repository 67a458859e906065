package bbs

import (
	"fmt"
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/converge"
)

// --- desired LRPs (DIEGO.md §3.1) ---

// DesireLRP validates and stores d, creates UNCLAIMED instances 0..N-1 and queues one
// start request for them. A domain without a row is created fresh and never expiring,
// so extra and orphaned instances of a DesireLRP's domain are retired by default.
func (b *BBS) DesireLRP(now time.Duration, d model.DesiredLRP) error {
	return b.done("DesireLRP", b.desireLRP(now, d))
}

func (b *BBS) desireLRP(now time.Duration, d model.DesiredLRP) error {
	if err := d.Validate(); err != nil {
		return err
	}
	var oldBuf model.DesiredLRP
	old, err := b.getDesired(&oldBuf, d.ProcessGUID)
	if err != nil {
		return err
	}
	if old != nil {
		return &model.ExistsError{Kind: "desired_lrp", Key: d.ProcessGUID}
	}
	has, err := b.hasDomain(d.Domain)
	if err != nil {
		return err
	}
	if !has {
		if err := b.store.PutDomain(converge.Domain{Name: d.Domain}); err != nil {
			return storeErr("put domain", err)
		}
	}
	if err := b.store.PutDesiredLRP(d); err != nil {
		return storeErr("put desired", err)
	}
	b.tracker.DesiredChanged(nil, &d)
	b.out.Events = append(b.out.Events, Event{Type: DesiredLRPCreated, Desired: b.desiredCopy(&d)})
	return b.createInstances(now, &d, 0, d.Instances)
}

// hasDomain reports whether the domain has a row.
func (b *BBS) hasDomain(name string) (bool, error) {
	ok, err := b.rowStore.HasDomain(name)
	if err != nil {
		return false, storeErr("list domains", err)
	}
	return ok, nil
}

// createInstances creates UNCLAIMED ORDINARY rows for the indices in [from, to) that have
// none, then queues their starts together (Diego: startInstanceRange).
func (b *BBS) createInstances(now time.Duration, d *model.DesiredLRP, from, to int) error {
	if to <= from {
		return nil
	}
	// room for every new row, start and event at once instead of growing by doubling
	b.rowStore.ReserveActualLRPs(d.ProcessGUID, to-from)
	b.out.LRPStarts = slices.Grow(b.out.LRPStarts, to-from)
	b.out.Events = slices.Grow(b.out.Events, to-from)
	for i := from; i < to; i++ {
		key := model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: i}
		var oldBuf model.ActualLRP
		old, err := b.getActual(&oldBuf, key, model.Ordinary)
		if err != nil {
			return err
		}
		if old != nil {
			continue
		}
		if err := b.putActual(nil, model.ActualLRP{ActualLRPKey: key, Domain: d.Domain, State: model.Unclaimed, Since: now}); err != nil {
			return err
		}
		b.out.LRPStarts = append(b.out.LRPStarts, startFor(d, i))
	}
	return nil
}

// UpdateDesiredLRP changes the instance count. Scale up creates and starts the new
// indices; scale down deletes UNCLAIMED/CRASHED rows >= N and asks the reps to stop
// CLAIMED/RUNNING ones (EVACUATING rows are left alone).
func (b *BBS) UpdateDesiredLRP(now time.Duration, guid string, instances int) error {
	return b.done("UpdateDesiredLRP", b.updateDesiredLRP(now, guid, instances))
}

func (b *BBS) updateDesiredLRP(now time.Duration, guid string, instances int) error {
	if instances < 0 {
		return &model.ValidationError{Field: "instances", Problem: fmt.Sprintf("must be >= 0, got %d", instances)}
	}
	var oldBuf model.DesiredLRP
	old, err := b.getDesired(&oldBuf, guid)
	if err != nil {
		return err
	}
	if old == nil {
		return &model.NotFoundError{Kind: "desired_lrp", Key: guid}
	}
	d := *old
	d.Instances = instances
	if err := b.store.PutDesiredLRP(d); err != nil {
		return storeErr("put desired", err)
	}
	b.tracker.DesiredChanged(old, &d)
	b.out.Events = append(b.out.Events, Event{Type: DesiredLRPChanged, Desired: b.desiredCopy(&d)})
	switch {
	case instances > old.Instances:
		return b.createInstances(now, &d, old.Instances, instances)
	case instances < old.Instances:
		return b.stopInstancesFrom(guid, instances)
	}
	return nil
}

// RemoveDesiredLRP deletes the desired LRP and stops or deletes all its instances.
func (b *BBS) RemoveDesiredLRP(now time.Duration, guid string) error {
	return b.done("RemoveDesiredLRP", b.removeDesiredLRP(guid))
}

func (b *BBS) removeDesiredLRP(guid string) error {
	var oldBuf model.DesiredLRP
	old, err := b.getDesired(&oldBuf, guid)
	if err != nil {
		return err
	}
	if old == nil {
		return &model.NotFoundError{Kind: "desired_lrp", Key: guid}
	}
	if err := b.store.DeleteDesiredLRP(guid); err != nil {
		return storeErr("delete desired", err)
	}
	b.tracker.DesiredChanged(old, nil)
	b.out.Events = append(b.out.Events, Event{Type: DesiredLRPRemoved, Desired: b.desiredCopy(old)})
	return b.stopInstancesFrom(guid, 0)
}

func (b *BBS) stopInstancesFrom(guid string, from int) error {
	rows, err := b.store.ListActualLRPsByProcess(guid)
	if err != nil {
		return storeErr("list actual", err)
	}
	for i := range rows {
		a := &rows[i]
		if a.Presence == model.Evacuating || a.Index < from {
			continue
		}
		switch a.State {
		case model.Unclaimed, model.Crashed:
			if err := b.deleteActual(a); err != nil {
				return err
			}
		default:
			b.out.StopLRPs = append(b.out.StopLRPs, StopLRP{Key: a.ActualLRPKey, InstanceKey: a.InstanceKey})
		}
	}
	return nil
}

// DesiredLRP returns the desired LRP (a copy).
func (b *BBS) DesiredLRP(guid string) (model.DesiredLRP, bool) {
	d, ok, err := b.store.GetDesiredLRP(guid)
	return d, ok && err == nil
}

// --- actual LRPs (DIEGO.md §3.2) ---

func needInstance(ik model.InstanceKey) error {
	if ik.InstanceGUID == "" || ik.CellID == "" {
		return &model.ValidationError{Field: "instance_key", Problem: "instance_guid and cell_id must both be set"}
	}
	return nil
}

func notFound(key model.ActualLRPKey) error {
	return &model.NotFoundError{Kind: "actual_lrp", Key: key.String()}
}

// ClaimActualLRP moves the ORDINARY row to CLAIMED by ik. A claim from the SUSPECT
// instance is ignored; claiming again with the same key is a no-op.
func (b *BBS) ClaimActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) error {
	return b.done("ClaimActualLRP", b.claim(now, key, ik))
}

func (b *BBS) claim(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) error {
	if err := needInstance(ik); err != nil {
		return err
	}
	b.hint.PrefetchEnter(ik.CellID)
	var buf [3]model.ActualLRP
	r, err := b.rows(key, &buf)
	if err != nil {
		return err
	}
	if s := r[model.Suspect]; s != nil && s.InstanceKey == ik {
		b.ignore("ClaimActualLRP", "suspect")
		return nil
	}
	o := r[model.Ordinary]
	if o == nil {
		return notFound(key)
	}
	if err := o.CheckTransition(model.Claimed, ik); err != nil {
		return err
	}
	if o.State == model.Claimed && o.InstanceKey == ik {
		return nil
	}
	a := *o
	a.State, a.InstanceKey, a.PlacementError, a.Address, a.Since = model.Claimed, ik, "", "", now
	return b.putActual(o, a)
}

// StartActualLRP moves the ORDINARY row to RUNNING on ik (creating it when missing), then
// deletes the index's EVACUATING and SUSPECT rows: the replacement runs. A start from the
// SUSPECT instance is ignored. The evacuating rep learns its row is gone from its next
// EvacuateRunningActualLRP (keep=false).
func (b *BBS) StartActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, address string) error {
	return b.done("StartActualLRP", b.start(now, key, ik, address))
}

func (b *BBS) start(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, address string) error {
	if err := needInstance(ik); err != nil {
		return err
	}
	if key.ProcessGUID == "" || key.Index < 0 {
		return &model.ValidationError{Field: "key", Problem: "process_guid must be set and index >= 0"}
	}
	var buf [3]model.ActualLRP
	r, err := b.rows(key, &buf)
	if err != nil {
		return err
	}
	if s := r[model.Suspect]; s != nil && s.InstanceKey == ik {
		b.ignore("StartActualLRP", "suspect")
		return nil
	}
	o := r[model.Ordinary]
	switch {
	case o == nil:
		var dBuf model.DesiredLRP
		d, err := b.getDesired(&dBuf, key.ProcessGUID)
		if err != nil {
			return err
		}
		a := model.ActualLRP{ActualLRPKey: key, InstanceKey: ik, Address: address, State: model.Running, Since: now}
		if d != nil {
			a.Domain = d.Domain
		}
		if err := b.putActual(nil, a); err != nil {
			return err
		}
	case o.State == model.Running && o.InstanceKey == ik && o.Address == address:
		// already running there: nothing to change
	default:
		if err := o.CheckTransition(model.Running, ik); err != nil {
			return err
		}
		a := *o
		a.State, a.InstanceKey, a.Address, a.PlacementError, a.Since = model.Running, ik, address, "", now
		if err := b.putActual(o, a); err != nil {
			return err
		}
	}
	for _, p := range []model.Presence{model.Evacuating, model.Suspect} {
		if r[p] != nil {
			if err := b.deleteActual(r[p]); err != nil {
				return err
			}
		}
	}
	return nil
}

// CrashActualLRP records a crash of the container ik (DIEGO.md §3.2, §5): the crash count
// goes up (or back to 1 after more than 5 minutes RUNNING), the row becomes CRASHED, or
// UNCLAIMED with an immediate start request while the count is below 3. A crash reported
// by the SUSPECT instance just deletes the suspect row.
func (b *BBS) CrashActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, reason string) error {
	return b.done("CrashActualLRP", b.crash(now, key, ik, reason, true))
}

func (b *BBS) crash(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, reason string, auction bool) error {
	if err := needInstance(ik); err != nil {
		return err
	}
	b.hint.PrefetchLeave(key)
	var buf [3]model.ActualLRP
	r, err := b.rows(key, &buf)
	if err != nil {
		return err
	}
	if s := r[model.Suspect]; s != nil && s.InstanceKey == ik {
		return b.deleteActual(s)
	}
	o := r[model.Ordinary]
	if o == nil {
		return notFound(key)
	}
	if err := o.CheckTransition(model.Crashed, ik); err != nil {
		return err
	}
	a := *o
	a.CrashCount = model.NextCrashCount(o.State, o.Since, now, o.CrashCount)
	a.State, a.InstanceKey, a.Address, a.CrashReason, a.Since = model.Crashed, model.InstanceKey{}, "", truncate(reason), now
	immediate := b.cfg.Restart.OrDefault().ShouldRestartImmediately(a.CrashCount)
	if immediate {
		a.State = model.Unclaimed
	}
	if err := b.putActual(o, a); err != nil {
		return err
	}
	if immediate && auction {
		return b.requestStart(key)
	}
	return nil
}

// FailActualLRP records an auction failure: the UNCLAIMED row keeps its state and gets
// the placement error; since = now (convergence retries it once stale). When the index
// has no ORDINARY row but a SUSPECT one, Diego's controller drops the db's not-found and
// answers no error: the call is ignored (counted in Stats.Ignored).
func (b *BBS) FailActualLRP(now time.Duration, key model.ActualLRPKey, placementError string) error {
	return b.done("FailActualLRP", b.fail(now, key, placementError))
}

func (b *BBS) fail(now time.Duration, key model.ActualLRPKey, placementError string) error {
	var oBuf model.ActualLRP
	o, err := b.getActual(&oBuf, key, model.Ordinary)
	if err != nil {
		return err
	}
	if o == nil {
		var sBuf model.ActualLRP
		s, err := b.getActual(&sBuf, key, model.Suspect)
		if err != nil {
			return err
		}
		if s != nil {
			b.ignore("FailActualLRP", "suspect only")
			return nil
		}
		return notFound(key)
	}
	if o.State != model.Unclaimed {
		return &model.TransitionError{Kind: "actual_lrp", Key: key.String(), From: o.State.String(), To: model.Unclaimed.String(), Reason: "only an UNCLAIMED instance can fail placement"}
	}
	a := *o
	a.PlacementError, a.Since = truncate(placementError), now
	return b.putActual(o, a)
}

// RemoveActualLRP deletes the ORDINARY row; with a non-empty ik only if it is that
// instance's (Diego answers not found otherwise).
func (b *BBS) RemoveActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) error {
	return b.done("RemoveActualLRP", b.remove(key, ik))
}

func (b *BBS) remove(key model.ActualLRPKey, ik model.InstanceKey) error {
	var oBuf model.ActualLRP
	o, err := b.getActual(&oBuf, key, model.Ordinary)
	if err != nil {
		return err
	}
	if o == nil || (!ik.Empty() && o.InstanceKey != ik) {
		return notFound(key)
	}
	return b.deleteActual(o)
}

// RetireActualLRP removes an unwanted instance: UNCLAIMED/CRASHED rows are deleted;
// CLAIMED/RUNNING ones get a StopLRP, or are deleted when their cell is not present.
func (b *BBS) RetireActualLRP(now time.Duration, key model.ActualLRPKey) error {
	return b.done("RetireActualLRP", b.retire(key))
}

func (b *BBS) retire(key model.ActualLRPKey) error {
	var oBuf model.ActualLRP
	o, err := b.getActual(&oBuf, key, model.Ordinary)
	if err != nil {
		return err
	}
	if o == nil {
		return notFound(key)
	}
	if (o.State == model.Claimed || o.State == model.Running) && b.present[o.CellID] {
		b.out.StopLRPs = append(b.out.StopLRPs, StopLRP{Key: key, InstanceKey: o.InstanceKey})
		return nil
	}
	return b.deleteActual(o)
}

// UnclaimActualLRP puts the ORDINARY row back to UNCLAIMED (instance key cleared, crash
// count kept, since = now). Refused when already UNCLAIMED. It queues no start.
func (b *BBS) UnclaimActualLRP(now time.Duration, key model.ActualLRPKey) error {
	return b.done("UnclaimActualLRP", b.unclaim(now, key))
}

func (b *BBS) unclaim(now time.Duration, key model.ActualLRPKey) error {
	var oBuf model.ActualLRP
	o, err := b.getActual(&oBuf, key, model.Ordinary)
	if err != nil {
		return err
	}
	if o == nil {
		return notFound(key)
	}
	if o.State == model.Unclaimed {
		return &model.TransitionError{Kind: "actual_lrp", Key: key.String(), From: o.State.String(), To: model.Unclaimed.String(), Reason: "already unclaimed"}
	}
	a := *o
	a.State, a.InstanceKey, a.Address, a.Since = model.Unclaimed, model.InstanceKey{}, "", now
	return b.putActual(o, a)
}

// ActualLRPs returns every row of the process, sorted by (index, presence).
func (b *BBS) ActualLRPs(guid string) []model.ActualLRP {
	l, _ := b.store.ListActualLRPsByProcess(guid)
	return l
}

// ActualLRPsOnCell returns every row whose instance is on the cell, sorted.
func (b *BBS) ActualLRPsOnCell(cellID string) []model.ActualLRP {
	l, _ := b.store.ListActualLRPsByCell(cellID)
	return l
}

// ActualLRP returns one row.
func (b *BBS) ActualLRP(key model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool) {
	a, ok, err := b.store.GetActualLRP(key, p)
	return a, ok && err == nil
}
