package converge

import "time"

// delayQueues holds the CRASHED keys (guid id, index) by due time = since + restart
// delay, as one dueQueue per distinct delay (the §5 back-off has a handful: 0 s, 30 s,
// 1, 2, 4, 8 and 16 min). The BBS writes a CRASHED row with since = the time of the
// write, so within one delay the keys arrive in due order and each queue only appends
// at its end and leaves a hole where a key leaves: a crash and a restart write the
// key's own position and nothing else. One heap for every delay would sift, rewriting
// the positions of the keys it moves: a cache miss on another guid record per level,
// ~17 levels deep with 100,000 keys, on every restart.
//
// All queues keep their positions in the same slot (which) of the guid records: a key
// is in one queue at most, and a queue tells its own keys from another queue's by
// checking that the item at the recorded position is the key (holds).
//
// Invariants: those of each dueQueue; delays[i] is the delay of queues[i], all
// different, in order of first use (which only decides the order of Due's answer, that
// Plan sorts); a key is in at most one queue.
type delayQueues struct {
	delays []time.Duration
	queues []dueQueue
	tab    *guidTable
	which  int
}

func newDelayQueues(tab *guidTable, which int) delayQueues {
	return delayQueues{tab: tab, which: which}
}

// Len is the number of keys.
func (d *delayQueues) Len() int {
	n := 0
	for i := range d.queues {
		n += d.queues[i].Len()
	}
	return n
}

// queue returns the queue of delay, created when missing.
func (d *delayQueues) queue(delay time.Duration) *dueQueue {
	for i, x := range d.delays {
		if x == delay {
			return &d.queues[i]
		}
	}
	d.delays = append(d.delays, delay)
	d.queues = append(d.queues, newDueQueue(d.tab, d.which))
	return &d.queues[len(d.queues)-1]
}

// Set inserts (id, index) due at since+delay, or moves it there (to the queue of delay
// when it is in another one).
func (d *delayQueues) Set(id uint32, index int, delay, since time.Duration) {
	q := d.queue(delay)
	if d.tab.pos(id, index, d.which) > 0 && !q.holds(id, index) {
		d.Remove(id, index, delay)
	}
	q.Set(id, index, since+delay)
}

// Remove deletes (id, index) if present; delay is the queue to look in first (the one
// of the key's row as the caller last set it).
func (d *delayQueues) Remove(id uint32, index int, delay time.Duration) {
	if d.tab.pos(id, index, d.which) == 0 {
		return
	}
	for i, x := range d.delays {
		if x == delay && d.queues[i].holds(id, index) {
			d.queues[i].Remove(id, index)
			return
		}
	}
	for i := range d.queues {
		if d.queues[i].holds(id, index) {
			d.queues[i].Remove(id, index)
			return
		}
	}
}

// Due appends every item with due <= limit to out (unordered across delays).
func (d *delayQueues) Due(limit time.Duration, out []dueItem) []dueItem {
	for i := range d.queues {
		out = d.queues[i].Due(limit, out)
	}
	return out
}
