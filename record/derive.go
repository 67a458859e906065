package record

import (
	"sort"
	"strconv"
)

// Derived figures: what a run did, computed from its events.jsonl alone, the same way
// for a simulated and a live record (fidelity compares the two with these, so neither
// mode's own bookkeeping decides the comparison).
//
// An instance (process guid, index below the desired instances) counts as running
// while some row of it is RUNNING (any presence) on a cell that has not crashed: a
// crashed cell's containers are gone at once, although the BBS keeps their rows until
// the cell's presence lapses, while a partitioned or evacuating cell's keep running.

// Point is one step of the running-instances timeline: from T on, Desired instances
// were desired and Running of them ran.
type Point struct {
	T                float64 `json:"t"`
	Desired, Running int
}

// DerivedFault is one timeline event and how long the run took to recover from it:
// until the missing instances were back at (or below) their number just before it,
// after having risen above it. A fault that raised nothing within FaultSettle of its
// time (a scale-down) recovered at once (0). The settle time lets a live run's effects
// (a killed process's crash report) arrive after the event's mark, as a simulated
// run's arrive with it.
type DerivedFault struct {
	At              float64  `json:"at"`
	Action          string   `json:"action"`
	Target          string   `json:"target"`
	RecoverySeconds *float64 `json:"recovery_seconds"`
}

// Derived is what Derive computes.
type Derived struct {
	Timeline               []Point        `json:"timeline"`
	InstanceSecondsMissing float64        `json:"instance_seconds_missing"`
	DesiredInstanceSeconds float64        `json:"desired_instance_seconds"`
	Faults                 []DerivedFault `json:"faults"`
	// Crashes counts the crashes reported (the crash count rising on a row).
	Crashes int `json:"crashes"`
	// RestartsByCrashCount and GivenUp as summary.json's health defines them: an
	// ORDINARY row going back to UNCLAIMED with crash count c > 0 ("8+" pools c >= 8),
	// and a row CRASHED with 200 crashes.
	RestartsByCrashCount map[string]int `json:"restarts_by_crash_count"`
	GivenUp              int            `json:"given_up"`
}

// FaultSettle is how long after a timeline event its effect may first show.
const FaultSettle = 2.0

type rowKey struct {
	guid     string
	index    int
	presence string
}

type row struct {
	instance, state, cell string
	crashes               int
}

type deriver struct {
	desired map[string]int
	rows    map[rowKey]row
	dead    map[string]bool
	running map[instKey]bool
	runN    int
	desN    int
}

type instKey struct {
	guid  string
	index int
}

func (d *deriver) isRunning(k instKey) bool {
	if k.index >= d.desired[k.guid] {
		return false
	}
	for _, p := range []string{"ORDINARY", "EVACUATING", "SUSPECT"} {
		r, ok := d.rows[rowKey{k.guid, k.index, p}]
		if ok && r.state == "RUNNING" && !d.dead[r.cell] {
			return true
		}
	}
	return false
}

func (d *deriver) refresh(k instKey) {
	now := d.isRunning(k)
	if now != d.running[k] {
		if now {
			d.runN++
			d.running[k] = true
		} else {
			d.runN--
			delete(d.running, k)
		}
	}
}

// Derive reads dir's events.jsonl and computes the running-instances timeline, the
// missing instance-seconds up to end (seconds; the last event's time when 0) and each
// timeline event's recovery.
func Derive(dir string, end float64) (*Derived, error) {
	d := &deriver{desired: map[string]int{}, rows: map[rowKey]row{}, dead: map[string]bool{}, running: map[instKey]bool{}}
	out := &Derived{RestartsByCrashCount: map[string]int{}}
	type mark struct {
		i        int
		baseline int
		rose     bool
	}
	var open []mark
	lastT, before := 0.0, 0
	push := func(t float64) {
		missing := d.desN - d.runN
		if n := len(out.Timeline); n > 0 && out.Timeline[n-1].T == t {
			out.Timeline[n-1].Desired, out.Timeline[n-1].Running = d.desN, d.runN
		} else if n == 0 || out.Timeline[n-1].Desired != d.desN || out.Timeline[n-1].Running != d.runN {
			out.Timeline = append(out.Timeline, Point{T: t, Desired: d.desN, Running: d.runN})
		}
		kept := open[:0]
		for _, m := range open {
			at := out.Faults[m.i].At
			switch {
			case missing > m.baseline:
				m.rose = true
			case m.rose:
				r := Round6(t - at)
				out.Faults[m.i].RecoverySeconds = &r
				continue
			case t >= at+FaultSettle:
				r := 0.0 // nothing went missing
				out.Faults[m.i].RecoverySeconds = &r
				continue
			}
			kept = append(kept, m)
		}
		open = kept
	}
	err := ReadEvents(dir, func(e *Event) error {
		if e.T > lastT {
			// close the books up to e.T with the state before e
			if n := len(out.Timeline); n > 0 {
				p := out.Timeline[n-1]
				out.InstanceSecondsMissing += float64(p.Desired-p.Running) * (e.T - lastT)
				out.DesiredInstanceSeconds += float64(p.Desired) * (e.T - lastT)
			}
			lastT = e.T
			before = d.desN - d.runN
		}
		switch e.Type {
		case TypeDesiredLRP:
			old := d.desired[e.ProcessGUID]
			n := e.Instances
			if e.Change == ChangeRemoved {
				n = 0
			}
			d.desired[e.ProcessGUID] = n
			d.desN += n - old
			for i := min(old, n); i < max(old, n); i++ {
				d.refresh(instKey{e.ProcessGUID, i})
			}
		case TypeActualLRP:
			k := rowKey{e.ProcessGUID, e.Index, e.Presence}
			if prev, had := d.rows[k]; e.Presence == "ORDINARY" && e.Change != ChangeRemoved {
				if e.State == "UNCLAIMED" && e.CrashCount > 0 && had && prev.state != "UNCLAIMED" {
					key := strconv.Itoa(e.CrashCount)
					if e.CrashCount >= 8 {
						key = "8+"
					}
					out.RestartsByCrashCount[key]++
				}
				if e.State == "CRASHED" && e.CrashCount >= 200 && prev.state != "CRASHED" {
					out.GivenUp++
				}
				if e.CrashCount > prev.crashes {
					out.Crashes += e.CrashCount - prev.crashes
				}
			}
			if e.InstanceGUID != "" {
				for _, p := range []string{"ORDINARY", "EVACUATING", "SUSPECT"} {
					o := rowKey{e.ProcessGUID, e.Index, p}
					if r, ok := d.rows[o]; ok && p != e.Presence && r.instance == e.InstanceGUID {
						delete(d.rows, o)
					}
				}
			}
			if e.Change == ChangeRemoved {
				delete(d.rows, k)
			} else {
				d.rows[k] = row{instance: e.InstanceGUID, state: e.State, cell: e.CellID, crashes: e.CrashCount}
			}
			d.refresh(instKey{e.ProcessGUID, e.Index})
		case TypeCell:
			// crashed kills the cell's containers; only up brings the cell back (lost,
			// partitioned, evacuating and down leave what runs as it is)
			dead := d.dead[e.CellID]
			switch e.State {
			case CellCrashed:
				dead = true
			case CellUp:
				dead = false
			}
			if d.dead[e.CellID] != dead {
				d.dead[e.CellID] = dead
				if !dead {
					delete(d.dead, e.CellID)
				}
				// every instance with a row on the cell may change
				var keys []instKey
				for k, r := range d.rows {
					if r.cell == e.CellID {
						keys = append(keys, instKey{k.guid, k.index})
					}
				}
				sort.Slice(keys, func(i, j int) bool {
					if keys[i].guid != keys[j].guid {
						return keys[i].guid < keys[j].guid
					}
					return keys[i].index < keys[j].index
				})
				for _, k := range keys {
					d.refresh(k)
				}
			}
		case TypeTimeline:
			out.Faults = append(out.Faults, DerivedFault{At: e.T, Action: e.Action, Target: e.Target})
			open = append(open, mark{i: len(out.Faults) - 1, baseline: before})
		}
		push(e.T)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, m := range open {
		if !m.rose && end >= out.Faults[m.i].At+FaultSettle {
			r := 0.0
			out.Faults[m.i].RecoverySeconds = &r
		}
	}
	if end > lastT {
		if n := len(out.Timeline); n > 0 {
			p := out.Timeline[n-1]
			out.InstanceSecondsMissing += float64(p.Desired-p.Running) * (end - lastT)
			out.DesiredInstanceSeconds += float64(p.Desired) * (end - lastT)
		}
	}
	out.InstanceSecondsMissing = Round6(out.InstanceSecondsMissing)
	out.DesiredInstanceSeconds = Round6(out.DesiredInstanceSeconds)
	return out, nil
}

// RunningAt is the timeline's running instances at t (0 before its first point).
func RunningAt(tl []Point, t float64) (desired, running int) {
	i := sort.Search(len(tl), func(i int) bool { return tl[i].T > t })
	if i == 0 {
		return 0, 0
	}
	return tl[i-1].Desired, tl[i-1].Running
}
