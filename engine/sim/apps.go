package sim

import "github.com/diegolab/diegolab/model"

// appTable keeps, per app and instance index, what the metrics need without scanning
// the store: the number of containers actually running (the truth of the simulated
// world) and the state of each of the BBS's rows (its view). Three bytes and a counter
// per instance, so a 2.5 M-instance run stays small.
type appTable struct {
	ids     map[string]int32
	desired []int32
	running [][]uint8    // running containers per index
	rows    [3][][]uint8 // per presence: 0 = no row, else state+1

	desiredTotal int
	runningKeys  int       // indices < desired with a running container
	counts       [3][4]int // rows by presence and state
}

func (t *appTable) init() { t.ids = map[string]int32{} }

// stateOf encodes a state as stored in rows.
func stateOf(s model.ActualLRPState) uint8 { return uint8(s) + 1 }

// id returns the app's id, creating it on first sight.
func (t *appTable) id(guid string) int32 {
	if id, ok := t.ids[guid]; ok {
		return id
	}
	id := int32(len(t.desired))
	t.ids[guid] = id
	t.desired = append(t.desired, 0)
	t.running = append(t.running, nil)
	for p := range t.rows {
		t.rows[p] = append(t.rows[p], nil)
	}
	return id
}

func grow(s []uint8, i int) []uint8 {
	for len(s) <= i {
		s = append(s, 0)
	}
	return s
}

func (t *appTable) containerUp(app int32, index int) {
	t.running[app] = grow(t.running[app], index)
	t.running[app][index]++
	if t.running[app][index] == 1 && int32(index) < t.desired[app] {
		t.runningKeys++
	}
}

func (t *appTable) containerDown(app int32, index int) {
	t.running[app][index]--
	if t.running[app][index] == 0 && int32(index) < t.desired[app] {
		t.runningKeys--
	}
}

func (t *appTable) setDesired(guid string, n int) {
	app := t.id(guid)
	old := int(t.desired[app])
	lo, hi, sign := old, n, 1
	if n < old {
		lo, hi, sign = n, old, -1
	}
	for i := lo; i < hi && i < len(t.running[app]); i++ {
		if t.running[app][i] > 0 {
			t.runningKeys += sign
		}
	}
	t.desiredTotal += n - old
	t.desired[app] = int32(n)
}

// setActual records a row's new state (or its removal) and returns the old encoding.
func (t *appTable) setActual(guid string, index int, p model.Presence, s model.ActualLRPState, removed bool) uint8 {
	app := t.id(guid)
	rows := grow(t.rows[p][app], index)
	t.rows[p][app] = rows
	old := rows[index]
	if old != 0 {
		t.counts[p][old-1]--
	}
	if removed {
		rows[index] = 0
		return old
	}
	rows[index] = stateOf(s)
	t.counts[p][s]++
	return old
}

// missing is the number of desired instances with no running container.
func (t *appTable) missing() int { return t.desiredTotal - t.runningKeys }
