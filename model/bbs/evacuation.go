package bbs

import (
	"errors"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Evacuation (DIEGO.md §6.5; Diego controllers/evacuation_controller.go, ROLLING strategy).
// Each call answers whether the evacuating rep keeps the container.

// removeEvacOrSuspect deletes the row of ik when it is EVACUATING or SUSPECT.
func (b *BBS) removeEvacOrSuspect(t *model.ActualLRP) (bool, error) {
	if t.Presence == model.Ordinary {
		return false, nil
	}
	return true, b.deleteActual(t)
}

// EvacuateClaimedActualLRP: a container not yet running on an evacuating cell. Its row is
// unclaimed and re-auctioned (or deleted when EVACUATING/SUSPECT); the container goes.
func (b *BBS) EvacuateClaimedActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) (bool, error) {
	keep, err := b.evacuateClaimed(now, key, ik)
	return keep, b.done("EvacuateClaimedActualLRP", err)
}

func (b *BBS) evacuateClaimed(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) (bool, error) {
	if err := needInstance(ik); err != nil {
		return false, err
	}
	var buf [3]model.ActualLRP
	r, err := b.rows(key, &buf)
	if err != nil {
		return false, err
	}
	t := withInstance(r, ik)
	if t == nil {
		return false, notFound(key)
	}
	if removed, err := b.removeEvacOrSuspect(t); removed || err != nil {
		return false, err
	}
	if err := b.unclaim(now, key); err != nil {
		// Diego: a row already gone lets the container go; any other failure (the
		// store) keeps it, since the BBS never recorded the unclaim.
		if errors.Is(err, model.ErrNotFound) {
			return false, nil
		}
		return true, err
	}
	b.requestAuction(key)
	return false, nil
}

// requestAuction queues a start for key; as in Diego's evacuation controller, a failure to
// read the desired LRP for it is only logged there, and changes no answer here.
func (b *BBS) requestAuction(key model.ActualLRPKey) {
	if err := b.requestStart(key); err != nil {
		b.ignore("requestAuction", "desired lrp unreadable")
	}
}

// EvacuateRunningActualLRP: a RUNNING container on an evacuating cell. The first call
// copies the row to EVACUATING (RUNNING, routable), unclaims the ORDINARY row and
// auctions it: keep. Later calls keep while the replacement is not running; once it is
// RUNNING (or CRASHED), or the desired LRP is gone, the EVACUATING row is deleted and
// the container goes. Only one EVACUATING row may exist per index.
func (b *BBS) EvacuateRunningActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, address string) (bool, error) {
	keep, err := b.evacuateRunning(now, key, ik, address)
	return keep, b.done("EvacuateRunningActualLRP", err)
}

func (b *BBS) evacuateRunning(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, address string) (bool, error) {
	if err := needInstance(ik); err != nil {
		return false, err
	}
	var buf [3]model.ActualLRP
	r, err := b.rows(key, &buf)
	if err != nil {
		return true, err // Diego: the rows could not be read, keep the container
	}
	if r[0] == nil && r[1] == nil && r[2] == nil {
		return false, nil
	}
	t := withInstance(r, ik)
	o := r[model.Ordinary]
	// removeTarget deletes the EVACUATING row of ik; the container goes unless the delete
	// failed (Diego: keepContainer = err != nil, so the rep retries).
	removeTarget := func() (bool, error) {
		if t != nil && t.Presence == model.Evacuating {
			err := b.deleteActual(t)
			return err != nil, err
		}
		return false, nil
	}
	if o == nil || (t != o && (o.State == model.Running || o.State == model.Crashed)) {
		return removeTarget()
	}
	var dBuf model.DesiredLRP
	d, err := b.getDesired(&dBuf, key.ProcessGUID)
	if err != nil {
		return true, err
	}
	if d == nil {
		return removeTarget()
	}
	if t == nil || t.Presence == model.Evacuating {
		if e := r[model.Evacuating]; e != nil && e != t {
			return false, nil // another cell already evacuates this index
		}
		if t != nil {
			if t.Address == address {
				return true, nil // the evacuating copy exists as it is
			}
			// Diego's EvacuateActualLRP rewrites the copy's net info and since.
			e := *t
			e.Address, e.Since = address, now
			return true, b.putActual(t, e)
		}
		return true, b.putActual(nil, model.ActualLRP{ActualLRPKey: key, Domain: o.Domain, InstanceKey: ik,
			Address: address, State: model.Running, Presence: model.Evacuating, Since: now})
	}
	if t.State != model.Running && t.State != model.Claimed {
		return false, nil
	}
	addr := t.Address
	if addr == "" {
		addr = address
	}
	// a new row: crash count 0 and no crash reason, as Diego's createEvacuatingActualLRP
	e := model.ActualLRP{ActualLRPKey: key, Domain: t.Domain, InstanceKey: ik, Address: addr,
		State: model.Running, Presence: model.Evacuating, Since: now}
	if err := b.putActual(r[model.Evacuating], e); err != nil {
		return true, err
	}
	if t.Presence == model.Suspect {
		return true, b.deleteActual(t)
	}
	if err := b.unclaim(now, key); err != nil {
		return true, err
	}
	b.requestAuction(key)
	return true, nil
}

// EvacuateStoppedActualLRP: a container that stopped on an evacuating cell; its row goes.
func (b *BBS) EvacuateStoppedActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) (bool, error) {
	err := b.evacuateStopped(key, ik)
	return false, b.done("EvacuateStoppedActualLRP", err)
}

func (b *BBS) evacuateStopped(key model.ActualLRPKey, ik model.InstanceKey) error {
	if err := needInstance(ik); err != nil {
		return err
	}
	var buf [3]model.ActualLRP
	r, err := b.rows(key, &buf)
	if err != nil {
		return err
	}
	t := withInstance(r, ik)
	if t == nil {
		return notFound(key)
	}
	return b.deleteActual(t)
}

// EvacuateCrashedActualLRP: a container that crashed on an evacuating cell. EVACUATING or
// SUSPECT rows are deleted; the ORDINARY row crashes as in CrashActualLRP but Diego
// queues no auction here (an immediate restart is picked up as stale UNCLAIMED).
func (b *BBS) EvacuateCrashedActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, reason string) (bool, error) {
	err := b.evacuateCrashed(now, key, ik, reason)
	return false, b.done("EvacuateCrashedActualLRP", err)
}

func (b *BBS) evacuateCrashed(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey, reason string) error {
	if err := needInstance(ik); err != nil {
		return err
	}
	var buf [3]model.ActualLRP
	r, err := b.rows(key, &buf)
	if err != nil {
		return err
	}
	t := withInstance(r, ik)
	if t == nil {
		return notFound(key)
	}
	if removed, err := b.removeEvacOrSuspect(t); removed || err != nil {
		return err
	}
	return b.crash(now, key, ik, reason, false)
}

// RemoveEvacuatingActualLRP deletes the EVACUATING row of ik (rep cleanup, timeout).
func (b *BBS) RemoveEvacuatingActualLRP(now time.Duration, key model.ActualLRPKey, ik model.InstanceKey) error {
	return b.done("RemoveEvacuatingActualLRP", b.removeEvacuating(key, ik))
}

func (b *BBS) removeEvacuating(key model.ActualLRPKey, ik model.InstanceKey) error {
	var eBuf model.ActualLRP
	e, err := b.getActual(&eBuf, key, model.Evacuating)
	if err != nil {
		return err
	}
	if e == nil || e.InstanceKey != ik {
		return notFound(key)
	}
	return b.deleteActual(e)
}
