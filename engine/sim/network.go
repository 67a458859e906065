package sim

import (
	"math"
	"time"
)

// network is the bandwidth model of the staging simulation (docs/staging.md):
// downloads and uploads are flows over up to three links (a registry's or the
// blobstore's link, a cell's NIC, a developer's upload link). Each link has a capacity
// in bytes per second, split in equal shares among the flows crossing it; a flow's rate
// is the smallest share along its path (its bottleneck), further capped by the flow's
// own limit. This equal-share model is simpler than max-min fairness: capacity a flow
// cannot use because it is held back elsewhere is not redistributed, so it errs on the
// slow side. Rates are recomputed whenever a flow starts or ends; in between each flow
// progresses linearly. The sum of the rates on a link never exceeds its capacity, and
// every flow delivers exactly its size (bytes are conserved).
//
// The network is pure bookkeeping over virtual time; the driver schedules one kernel
// event at next() and calls due() when it fires.
type network struct {
	links  []netLink
	flows  []flow
	free   []int32
	active []int32 // ids of running flows, in start order
	last   time.Duration
}

type netLink struct {
	name  string
	bps   float64 // bytes per second
	n     int     // flows crossing it
	bytes float64 // bytes delivered through it
}

type flow struct {
	links [3]int32
	nl    int8
	live  bool
	gen   uint32
	size  float64
	done  float64
	rate  float64
	limit float64 // 0 = none
	owner flowOwner
}

// flowOwner tells the driver what a finished flow was for.
type flowOwner struct {
	kind uint8 // ownPull, ownStaging, ownUpload
	id   int32
	gen  uint32
}

// mbps converts megabits per second to bytes per second.
func mbps(m float64) float64 { return m * 1e6 / 8 }

func (n *network) addLink(name string, bytesPerSecond float64) int32 {
	n.links = append(n.links, netLink{name: name, bps: bytesPerSecond})
	return int32(len(n.links) - 1)
}

// advance moves every running flow's progress to now.
func (n *network) advance(now time.Duration) {
	if now <= n.last {
		return
	}
	dt := (now - n.last).Seconds()
	n.last = now
	for _, id := range n.active {
		f := &n.flows[id]
		d := min(f.rate*dt, f.size-f.done)
		f.done += d
		for i := int8(0); i < f.nl; i++ {
			n.links[f.links[i]].bytes += d
		}
	}
}

// rates recomputes every running flow's rate.
func (n *network) rates() {
	for _, id := range n.active {
		f := &n.flows[id]
		r := math.Inf(1)
		if f.limit > 0 {
			r = f.limit
		}
		for i := int8(0); i < f.nl; i++ {
			l := &n.links[f.links[i]]
			r = min(r, l.bps/float64(l.n))
		}
		f.rate = r
	}
}

// start begins a flow of size bytes over links at now and returns its id. size must
// be > 0 and links non-empty (at most three).
func (n *network) start(now time.Duration, size float64, limit float64, owner flowOwner, links ...int32) int32 {
	n.advance(now)
	var id int32
	if k := len(n.free); k > 0 {
		id = n.free[k-1]
		n.free = n.free[:k-1]
	} else {
		n.flows = append(n.flows, flow{})
		id = int32(len(n.flows) - 1)
	}
	f := &n.flows[id]
	*f = flow{gen: f.gen + 1, live: true, size: size, limit: limit, owner: owner, nl: int8(len(links))}
	copy(f.links[:], links)
	for _, l := range links {
		n.links[l].n++
	}
	n.active = append(n.active, id)
	n.rates()
	return id
}

// remaining is how long the flow needs at its current rate.
func (f *flow) remaining() time.Duration {
	if f.rate <= 0 {
		return math.MaxInt64
	}
	s := (f.size - f.done) / f.rate
	return time.Duration(math.Ceil(s * 1e9))
}

// next returns when the first running flow will finish.
func (n *network) next() (time.Duration, bool) {
	best, ok := time.Duration(math.MaxInt64), false
	for _, id := range n.active {
		if r := n.flows[id].remaining(); r < best {
			best, ok = r, true
		}
	}
	return n.last + best, ok
}

// due finishes the flows that are complete at now (within a billionth of their size:
// the event time is rounded up to a nanosecond) and returns their owners in start
// order.
func (n *network) due(now time.Duration) []flowOwner {
	n.advance(now)
	var out []flowOwner
	kept := n.active[:0]
	for _, id := range n.active {
		f := &n.flows[id]
		if f.size-f.done > f.size*1e-9 {
			kept = append(kept, id)
			continue
		}
		n.finish(id)
		out = append(out, f.owner)
	}
	n.active = kept
	if len(out) > 0 {
		n.rates()
	}
	return out
}

// finish credits a flow's last bytes and releases its links.
func (n *network) finish(id int32) {
	f := &n.flows[id]
	rest := f.size - f.done
	f.done = f.size
	for i := int8(0); i < f.nl; i++ {
		l := &n.links[f.links[i]]
		l.bytes += rest
		l.n--
	}
	f.live = false
	n.free = append(n.free, id)
}

// cancel stops a running flow at now; it returns the bytes it had delivered.
func (n *network) cancel(now time.Duration, id int32, gen uint32) float64 {
	if int(id) >= len(n.flows) || !n.flows[id].live || n.flows[id].gen != gen {
		return 0
	}
	n.advance(now)
	f := &n.flows[id]
	for i := int8(0); i < f.nl; i++ {
		n.links[f.links[i]].n--
	}
	f.live = false
	n.free = append(n.free, id)
	for i, a := range n.active {
		if a == id {
			n.active = append(n.active[:i], n.active[i+1:]...)
			break
		}
	}
	n.rates()
	return f.done
}
