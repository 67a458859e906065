package sim

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// runFlows drives a network alone: flows start at the given times, and due() is
// called at each completion, as the driver's kNet event does. It returns each flow's
// completion time.
func runFlows(n *network, starts []time.Duration, sizes []float64, links [][]int32) []time.Duration {
	done := make([]time.Duration, len(starts))
	ids := map[int32]int{}
	next := 0
	for {
		at, ok := n.next()
		if next < len(starts) && (!ok || starts[next] <= at) {
			id := n.start(starts[next], sizes[next], 0, flowOwner{id: int32(next)}, links[next]...)
			ids[id] = next
			next++
			continue
		}
		if !ok {
			return done
		}
		for _, o := range n.due(at) {
			done[o.id] = at
		}
	}
}

func TestNetworkSharing(t *testing.T) {
	const mb = 1e6
	t.Run("one pull alone", func(t *testing.T) {
		var n network
		l := n.addLink("internet", 100*mb) // 100 MB/s
		got := runFlows(&n, []time.Duration{0}, []float64{200 * mb}, [][]int32{{l}})
		// 200 MB / 100 MB/s = 2 s.
		if got[0] != 2*time.Second {
			t.Errorf("one 200 MB pull took %s, want 2s", got[0])
		}
	})
	t.Run("two concurrent pulls take longer than one", func(t *testing.T) {
		var n network
		l := n.addLink("internet", 100*mb)
		got := runFlows(&n, []time.Duration{0, 0}, []float64{200 * mb, 200 * mb}, [][]int32{{l}, {l}})
		// Each gets 50 MB/s: 200 MB / 50 MB/s = 4 s.
		if got[0] != 4*time.Second || got[1] != 4*time.Second {
			t.Errorf("two concurrent 200 MB pulls ended at %v, want 4s each", got)
		}
	})
	t.Run("the bottleneck link sets the rate and freed shares are reused", func(t *testing.T) {
		var n network
		pub := n.addLink("internet", 100*mb)
		nic := n.addLink("cell", 10*mb)
		// Flow 0 crosses the 10 MB/s NIC: it runs at 10 MB/s. Flow 1 gets 50 MB/s of
		// the internet link (an equal share; the 40 MB/s flow 0 leaves unused is not
		// redistributed): 100 MB in 2 s. Flow 0: 50 MB at 10 MB/s = 5 s.
		got := runFlows(&n, []time.Duration{0, 0}, []float64{50 * mb, 100 * mb}, [][]int32{{pub, nic}, {pub}})
		if got[0] != 5*time.Second || got[1] != 2*time.Second {
			t.Errorf("ends %v, want [5s 2s]", got)
		}
	})
	t.Run("a flow that starts later slows the first", func(t *testing.T) {
		var n network
		l := n.addLink("lan", 100*mb)
		// 0-1s: flow 0 alone, 100 MB done. Then both at 50 MB/s: flow 0 has 100 MB
		// left -> 2 s more (ends at 3s); flow 1 has done 100 MB by then and its last
		// 100 MB go at 100 MB/s (ends at 4s).
		got := runFlows(&n, []time.Duration{0, time.Second}, []float64{200 * mb, 200 * mb}, [][]int32{{l}, {l}})
		if got[0] != 3*time.Second || got[1] != 4*time.Second {
			t.Errorf("ends %v, want [3s 4s]", got)
		}
	})
}

// Property: every flow finishes, every link carries exactly the bytes of the flows
// that crossed it (bytes are conserved), no flow beats its bottleneck link alone, and
// a link is never used beyond its capacity over the run.
func TestNetworkConservesBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var n network
		nl := rapid.IntRange(1, 4).Draw(t, "links")
		caps := make([]float64, nl)
		for i := range caps {
			caps[i] = float64(rapid.IntRange(1, 1000).Draw(t, "cap")) * 1e5
			n.addLink("l", caps[i])
		}
		nf := rapid.IntRange(1, 30).Draw(t, "flows")
		starts := make([]time.Duration, nf)
		sizes := make([]float64, nf)
		links := make([][]int32, nf)
		at := time.Duration(0)
		want := make([]float64, nl)
		for i := 0; i < nf; i++ {
			at += time.Duration(rapid.IntRange(0, 5000).Draw(t, "gap")) * time.Millisecond
			starts[i] = at
			sizes[i] = float64(rapid.IntRange(1, 1_000_000_000).Draw(t, "size"))
			k := rapid.IntRange(1, min(3, nl)).Draw(t, "nlinks")
			perm := rapid.Permutation(seq(nl)).Draw(t, "perm")
			for _, l := range perm[:k] {
				links[i] = append(links[i], int32(l))
				want[l] += sizes[i]
			}
		}
		done := runFlows(&n, starts, sizes, links)
		for i := range done {
			if done[i] == 0 && sizes[i] > 0 {
				t.Fatalf("flow %d never finished", i)
			}
			best := math.Inf(1)
			for _, l := range links[i] {
				best = min(best, caps[l])
			}
			if min := sizes[i] / best; (done[i] - starts[i]).Seconds() < min*(1-1e-9)-1e-9 {
				t.Fatalf("flow %d took %s, faster than its bottleneck alone (%.6fs)", i, done[i]-starts[i], min)
			}
		}
		var last time.Duration
		for _, d := range done {
			last = max(last, d)
		}
		for l := range want {
			got := n.links[l].bytes
			if math.Abs(got-want[l]) > 1e-6*want[l]+1 {
				t.Fatalf("link %d carried %.0f bytes, flows crossing it total %.0f", l, got, want[l])
			}
			if n.links[l].n != 0 {
				t.Fatalf("link %d still counts %d flows", l, n.links[l].n)
			}
			if got > caps[l]*last.Seconds()+1 {
				t.Fatalf("link %d carried %.0f bytes in %s, more than its capacity allows", l, got, last)
			}
		}
		if len(n.active) != 0 {
			t.Fatalf("%d flows still active", len(n.active))
		}
	})
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestNetworkCancel(t *testing.T) {
	var n network
	l := n.addLink("lan", 100)
	a := n.start(0, 1000, 0, flowOwner{}, l)
	b := n.start(0, 1000, 0, flowOwner{}, l)
	// 2 s at 50 B/s each: 100 bytes each; cancelling a frees the link for b.
	if got := n.cancel(2*time.Second, a, n.flows[a].gen); got != 100 {
		t.Errorf("cancelled flow delivered %.0f bytes, want 100", got)
	}
	// b: 900 bytes left at 100 B/s = 9 s -> ends at 11 s.
	if at, ok := n.next(); !ok || at != 11*time.Second {
		t.Errorf("next = %s, %v; want 11s", at, ok)
	}
	if got := n.due(11 * time.Second); len(got) != 1 || n.links[l].bytes != 1100 {
		t.Errorf("due %v, link bytes %.0f; want one flow and 1100 bytes", got, n.links[l].bytes)
	}
	_ = b
}
