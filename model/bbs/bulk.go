package bbs

import (
	"errors"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/converge"
)

// DesireLRPs desires a group of apps that differ only in their process guid: for each
// guids[i] in order, the DesiredLRP template with ProcessGUID guids[i] (a scenario's
// app group). The outcome is that of calling DesireLRP for each in turn and stopping at
// the first one refused: the same rows, events, start requests, convergence records,
// stats and error. It returns how many apps were desired. (With a store that fails,
// the apps before the failure are desired and the failure is DesireLRP's error, but
// rows of later apps may have been written, as by a DesireLRP refused half-way.)
//
// What the apps share is checked once: the template's fields (Validate) and its
// domain. The store writes the group's desired rows in one call
// (rowStore.InsertDesiredLRPs), stopping before the first guid that already has one (a
// guid repeated in the group included: the per-app path finds the row it wrote). Then
// each app, in order, gets what DesireLRP gives it after storing its row: its record in
// the tracker, its DesiredLRPCreated event, its UNCLAIMED instances and their start
// requests.
func (b *BBS) DesireLRPs(now time.Duration, template model.DesiredLRP, guids []string) (int, error) {
	if len(guids) == 0 {
		return 0, nil
	}
	// Validate checks the guid first, then the shared fields: with any guid that is not
	// blank, the template's verdict is every app's.
	shared := template
	shared.ProcessGUID = "-"
	if err := shared.Validate(); err != nil {
		template.ProcessGUID = guids[0]
		return 0, b.done("DesireLRP", template.Validate())
	}
	n := len(guids) // the apps before the first blank guid
	for i, g := range guids {
		if strings.TrimSpace(g) == "" {
			n = i
			break
		}
	}
	stored, err := b.insertDesired(template, guids[:n])
	d := template
	for i := 0; i < stored; i++ {
		d.ProcessGUID = guids[i]
		b.tracker.DesiredChanged(nil, &d)
		b.out.Events = append(b.out.Events, Event{Type: DesiredLRPCreated, Desired: b.desiredCopy(&d)})
		if err := b.done("DesireLRP", b.createInstances(now, &d, 0, d.Instances)); err != nil {
			return i, err
		}
	}
	switch {
	case err != nil:
		return stored, b.done("DesireLRP", err)
	case stored == len(guids):
		return stored, nil
	case stored == n: // guids[n] is blank
		d.ProcessGUID = guids[n]
		return stored, b.done("DesireLRP", d.Validate())
	}
	return stored, b.done("DesireLRP", &model.ExistsError{Kind: "desired_lrp", Key: guids[stored]})
}

// insertDesired stores the desired rows of the group (valid apps) as DesireLRP would,
// up to the first guid that has one: the domain's row first when the first app is new
// and the domain has none. It returns how many rows it stored and the store's error.
func (b *BBS) insertDesired(template model.DesiredLRP, guids []string) (int, error) {
	if len(guids) == 0 {
		return 0, nil
	}
	var buf model.DesiredLRP
	if old, err := b.getDesired(&buf, guids[0]); err != nil || old != nil {
		return 0, err // an error, or the first app exists (no domain row made)
	}
	has, err := b.hasDomain(template.Domain)
	if err != nil {
		return 0, err
	}
	if !has {
		if err := b.store.PutDomain(converge.Domain{Name: template.Domain}); err != nil {
			return 0, storeErr("put domain", err)
		}
	}
	n, err := b.rowStore.InsertDesiredLRPs(template, guids)
	if err != nil {
		var op *opError
		if errors.As(err, &op) {
			return n, storeErr(op.op, op.err)
		}
		return n, storeErr("put desired", err)
	}
	return n, nil
}

// opError is a store error with the Store operation that failed (plainRows'
// InsertDesiredLRPs reads and writes), for storeErr's message.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string { return e.op + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// InsertDesiredLRPs over a plain Store: GetDesiredLRP and PutDesiredLRP for each guid,
// as DesireLRP does.
func (s *plainRows) InsertDesiredLRPs(template model.DesiredLRP, guids []string) (int, error) {
	for i, g := range guids {
		_, ok, err := s.GetDesiredLRP(g)
		if err != nil {
			return i, &opError{"get desired", err}
		}
		if ok {
			return i, nil
		}
		template.ProcessGUID = g
		if err := s.PutDesiredLRP(template); err != nil {
			return i, &opError{"put desired", err}
		}
	}
	return len(guids), nil
}
