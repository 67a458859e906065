package router

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/hostnet"
)

// Pool is one app's routable instances. Endpoints is never modified in place.
type Pool struct {
	App         string
	ProcessGUID string
	Endpoints   []api.Endpoint
	next        *atomic.Uint64
}

// pick returns the endpoints in round-robin order starting from the next turn.
func (p *Pool) order() []api.Endpoint {
	n := len(p.Endpoints)
	if n == 0 {
		return nil
	}
	start := int(p.next.Add(1)-1) % n
	out := make([]api.Endpoint, 0, n)
	for i := range n {
		out = append(out, p.Endpoints[(start+i)%n])
	}
	return out
}

// Table maps hosts to pools. It is safe for concurrent use.
type Table struct {
	mu    sync.RWMutex
	hosts map[string]*Pool // host -> pool
	procs map[string]*Pool // process guid -> pool
	// counters survive pool replacement so round robin keeps turning.
	turns map[string]*atomic.Uint64
	// loaded: a full sync happened (before it, no host is known to be absent).
	loaded atomic.Bool

	// applied counts the events applied; while a full sync's fetch is in flight
	// (marks > 0) they are also kept in journal, to be applied again over the fetched
	// routes, which may be older than them.
	applied uint64
	marks   int
	journal []journaled
}

type journaled struct {
	seq uint64
	ev  api.ActualEvent
}

// A Mark is where a full sync's fetch began in the sequence of applied events.
type Mark struct{ seq uint64 }

// Mark is taken before a full sync fetches the routes: from then on the table keeps
// the events it applies, so that SyncSince can apply them again over a snapshot that
// may have been taken before some of them. Every Mark must be given back by Unmark.
func (t *Table) Mark() Mark {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.marks++
	return Mark{seq: t.applied}
}

// Unmark gives a Mark back; the journal is dropped when no fetch is in flight.
func (t *Table) Unmark(Mark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.marks--; t.marks <= 0 {
		t.marks, t.journal = 0, nil
	}
}

// Loaded reports whether the table was filled by a full sync at least once.
func (t *Table) Loaded() bool { return t.loaded.Load() }

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{hosts: map[string]*Pool{}, procs: map[string]*Pool{}, turns: map[string]*atomic.Uint64{}}
}

// NormalizeHost lowercases a Host header and drops its port.
func NormalizeHost(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// loopback reports whether the router may forward to addr: 127.0.0.1:PORT, or an
// address of a multi-host cluster's own network (real/hostnet).
func loopback(addr string) bool {
	ap, err := netip.ParseAddrPort(addr)
	return err == nil && ap.Port() != 0 && hostnet.AllowedHostPort(addr)
}

// Lookup returns the pool serving host (nil: unknown host).
func (t *Table) Lookup(host string) *Pool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.hosts[NormalizeHost(host)]
}

func (t *Table) turn(pg string) *atomic.Uint64 {
	c, ok := t.turns[pg]
	if !ok {
		c = &atomic.Uint64{}
		t.turns[pg] = c
	}
	return c
}

// Sync replaces the whole table by routes. Endpoints that are not 127.0.0.1 are
// left out (and reported in the error, after the table is replaced).
func (t *Table) Sync(routes []api.Route) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.install(routes)
}

// SyncSince replaces the whole table by routes fetched after m was taken, then applies
// again, in order, the events applied since m: the fetch and the event stream race, and
// an instance that started between the BBS answering and the table being replaced would
// otherwise stay missing until the next full sync. Applying an event twice is harmless
// (an instance's endpoint is replaced, not added twice).
func (t *Table) SyncSince(m Mark, routes []api.Route) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.install(routes)
	for _, j := range t.journal {
		if j.seq > m.seq {
			t.apply(j.ev)
		}
	}
	return err
}

func (t *Table) install(routes []api.Route) error {
	hosts := map[string]*Pool{}
	procs := map[string]*Pool{}
	var bad []string
	for _, r := range routes {
		p := &Pool{App: r.App, ProcessGUID: r.ProcessGUID, next: t.turn(r.ProcessGUID)}
		for _, e := range r.Endpoints {
			if !loopback(e.Address) {
				bad = append(bad, e.Address)
				continue
			}
			p.Endpoints = append(p.Endpoints, e)
		}
		sortEndpoints(p.Endpoints)
		procs[r.ProcessGUID] = p
		for _, h := range r.Hosts {
			hosts[NormalizeHost(h)] = p
		}
	}
	for pg := range t.turns {
		if procs[pg] == nil {
			delete(t.turns, pg)
		}
	}
	t.hosts, t.procs = hosts, procs
	t.loaded.Store(true)
	if len(bad) > 0 {
		return fmt.Errorf("routes: endpoints %v are not 127.0.0.1:PORT, left out", bad)
	}
	return nil
}

func sortEndpoints(es []api.Endpoint) {
	slices.SortFunc(es, func(a, b api.Endpoint) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.InstanceGUID, b.InstanceGUID)
	})
}

// Apply applies one event. It returns false when the event needs a full sync to be
// understood (an instance of a process the table does not know, or a desired change).
func (t *Table) Apply(ev api.ActualEvent) bool {
	if !strings.HasPrefix(ev.Type, "ActualLRP") {
		return ev.Type == "heartbeat"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.applied++
	if t.marks > 0 {
		t.journal = append(t.journal, journaled{seq: t.applied, ev: ev})
	}
	return t.apply(ev)
}

func (t *Table) apply(ev api.ActualEvent) bool {
	p, ok := t.procs[ev.ProcessGUID]
	if !ok {
		return !ev.Routable() // nothing to remove; an addition needs the hosts
	}
	eps := slices.DeleteFunc(slices.Clone(p.Endpoints), func(e api.Endpoint) bool { return e.InstanceGUID == ev.InstanceGUID })
	if ev.Routable() && loopback(ev.Address) {
		eps = append(eps, api.Endpoint{InstanceGUID: ev.InstanceGUID, Index: ev.Index, Address: ev.Address, Evacuating: ev.Presence == "EVACUATING"})
		sortEndpoints(eps)
	}
	np := &Pool{App: p.App, ProcessGUID: p.ProcessGUID, Endpoints: eps, next: p.next}
	t.procs[p.ProcessGUID] = np
	for h, hp := range t.hosts {
		if hp == p {
			t.hosts[h] = np
		}
	}
	return true
}

// Snapshot returns host -> endpoint addresses (for tests and status).
func (t *Table) Snapshot() map[string][]string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := map[string][]string{}
	for h, p := range t.hosts {
		as := []string{}
		for _, e := range p.Endpoints {
			as = append(as, e.Address)
		}
		out[h] = as
	}
	return out
}
