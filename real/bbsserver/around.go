package bbsserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/logs"
	"github.com/diegolab/diegolab/real/metrics"
	"github.com/diegolab/diegolab/real/sqlstore"
)

// hub fans the event stream out to subscribers (route emitters). A subscriber that
// does not keep up is disconnected (its channel closed): it resyncs on reconnect.
type hub struct {
	mu   sync.Mutex
	subs map[chan api.ActualEvent]bool
}

const subscriberBuffer = 4096

func (h *hub) subscribe() chan api.ActualEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = map[chan api.ActualEvent]bool{}
	}
	ch := make(chan api.ActualEvent, subscriberBuffer)
	h.subs[ch] = true
	return ch
}

func (h *hub) unsubscribe(ch chan api.ActualEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[ch] {
		delete(h.subs, ch)
		close(ch)
	}
}

// closeAll disconnects every subscriber (a BBS that stops being active).
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) publish(evs []api.ActualEvent) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		for _, ev := range evs {
			select {
			case ch <- ev:
			default:
				delete(h.subs, ch)
				close(ch)
			}
			if !h.subs[ch] {
				break
			}
		}
	}
}

// streamEvent turns a plane event into a stream event (false: not an LRP event).
func streamEvent(ev *bbs.Event) (api.ActualEvent, bool) {
	switch {
	case ev.Actual != nil:
		a := ev.Actual
		return api.ActualEvent{Type: ev.Type.String(), ProcessGUID: a.ProcessGUID, Index: a.Index, InstanceGUID: a.InstanceGUID,
			CellID: a.CellID, State: a.State.String(), Presence: a.Presence.String(), Address: a.Address}, true
	case ev.Desired != nil:
		return api.ActualEvent{Type: ev.Type.String(), ProcessGUID: ev.Desired.ProcessGUID}, true
	}
	return api.ActualEvent{}, false
}

// events streams LRP events as newline-delimited JSON until the client goes away,
// with a heartbeat line every 15 s so that a dead peer is noticed.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch := s.hub.subscribe()
	defer s.hub.unsubscribe(ch)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-beat.C:
			if enc.Encode(api.ActualEvent{Type: "heartbeat"}) != nil {
				return
			}
		case ev, ok := <-ch:
			if !ok {
				return // too slow: the emitter reconnects and resyncs
			}
			if enc.Encode(&ev) != nil {
				return
			}
			for n := len(ch); n > 0; n-- {
				ev, ok := <-ch
				if !ok || enc.Encode(&ev) != nil {
					return
				}
			}
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// RoutingTable builds the routing table from the store: each started app with its
// hosts (NAME.localhost and its routes) and the RUNNING instances of its process,
// ORDINARY or EVACUATING (an evacuating instance takes traffic until its replacement
// runs and its row is removed). Called with mu held.
func (s *Server) routingTable() ([]api.Route, error) {
	apps, err := sqlstore.ListSpecs[api.App](s.store, specApp)
	if err != nil {
		return nil, err
	}
	out := []api.Route{}
	for _, a := range apps {
		if a.ProcessGUID == "" {
			continue
		}
		rt := api.Route{App: a.Name, ProcessGUID: a.ProcessGUID, Hosts: append([]string{a.Name + ".localhost"}, a.Routes...), Endpoints: []api.Endpoint{}}
		rows, err := s.store.ListActualLRPsByProcess(a.ProcessGUID)
		if err != nil {
			return nil, err
		}
		for _, x := range rows {
			if x.State == model.Running && (x.Presence == model.Ordinary || x.Presence == model.Evacuating) && x.Address != "" {
				rt.Endpoints = append(rt.Endpoints, api.Endpoint{InstanceGUID: x.InstanceGUID, Index: x.Index, Address: x.Address,
					Evacuating: x.Presence == model.Evacuating})
			}
		}
		out = append(out, rt)
	}
	return out, nil
}

func (s *Server) serveRoutes(w http.ResponseWriter, r *http.Request) {
	var out []api.Route
	err := s.read(func(time.Duration) error {
		var err error
		out, err = s.routingTable()
		return err
	})
	reply(w, err, out)
}

// ingestLogs takes log lines from reps (APP, STG, CELL, HEALTH) and the router (RTR):
// each component may only post its own sources.
func (s *Server) ingestLogs(w http.ResponseWriter, r *http.Request) {
	switch {
	case api.HasToken(r, s.cfg.RepToken):
		s.logs.Ingest(w, r, api.SourceApp, api.SourceStage, api.SourceCell, api.SourceHealth)
	case api.HasToken(r, s.cfg.RouterToken):
		s.logs.Ingest(w, r, api.SourceRouter)
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="diegolab"`)
		api.WriteError(w, http.StatusUnauthorized, errors.New("log ingest: only reps and the router may post lines"))
	}
}

func (s *Server) streamLogs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !appName.MatchString(name) {
		reply(w, badf("app name %q: want lowercase letters, digits and dashes, at most 40", name), nil)
		return
	}
	s.logs.Stream(w, r, name)
}

func (s *Server) logStats(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !appName.MatchString(name) {
		reply(w, badf("app name %q: want lowercase letters, digits and dashes, at most 40", name), nil)
		return
	}
	s.logs.ServeStats(w, name)
}

var hostRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// validateAround checks a push's routes, health check and drains; routes must not
// belong to another app (checked under the lock by routeOwner).
func validateAround(name string, req *api.PushRequest) error {
	for i, h := range req.Routes {
		if !hostRe.MatchString(h) || len(h) > 253 {
			return badf("routes[%d]: %q is not a lowercase host name with a dot (e.g. www.example.test)", i, h)
		}
		if h == name+".localhost" || slices.Contains(req.Routes[:i], h) {
			return badf("routes[%d]: %q is listed twice (NAME.localhost is always a route)", i, h)
		}
	}
	if err := req.HealthCheck.Validate(); err != nil {
		return badf("%v", err)
	}
	for i, d := range req.Drains {
		if _, err := logs.ParseDrain(d); err != nil {
			return badf("drains[%d]: %v", i, err)
		}
	}
	return nil
}

// routeOwner returns the app other than name that serves host, if any. Called with
// mu held.
func (s *Server) routeOwner(name, host string) (string, error) {
	apps, err := sqlstore.ListSpecs[api.App](s.store, specApp)
	if err != nil {
		return "", err
	}
	for _, a := range apps {
		if a.Name != name && (a.Name+".localhost" == host || slices.Contains(a.Routes, host)) {
			return a.Name, nil
		}
	}
	return "", nil
}

// lrpCounts computes the LRP gauges from the store. Called at scrape time.
func (s *Server) lrpCounts() metrics.LRPCounts {
	var c metrics.LRPCounts
	_ = s.read(func(time.Duration) error {
		desired, err := s.store.ListDesiredLRPs()
		if err != nil {
			return err
		}
		actual, err := s.store.ListActualLRPs()
		if err != nil {
			return err
		}
		want := map[string]int{}
		for _, d := range desired {
			c.Desired += d.Instances
			want[d.ProcessGUID] = d.Instances
		}
		have := map[string]map[int]bool{}
		for _, a := range actual {
			if a.State == model.Crashed {
				c.Crashed++
			}
			if a.Presence != model.Ordinary {
				continue
			}
			switch a.State {
			case model.Running:
				c.Running++
			case model.Claimed:
				c.Claimed++
			case model.Unclaimed:
				c.Unclaimed++
			}
			n, ok := want[a.ProcessGUID]
			if !ok || a.Index >= n {
				c.Extra++
				continue
			}
			if have[a.ProcessGUID] == nil {
				have[a.ProcessGUID] = map[int]bool{}
			}
			have[a.ProcessGUID][a.Index] = true
		}
		for pg, n := range want {
			c.Missing += n - len(have[pg])
		}
		c.PresentCells = len(s.plane.PresentCells())
		return nil
	})
	return c
}

// restoreDrains starts the drains of every stored app (after a start or restart).
func (s *Server) restoreDrains() error {
	apps, err := sqlstore.ListSpecs[api.App](s.store, specApp)
	if err != nil {
		return err
	}
	for _, a := range apps {
		if len(a.Drains) > 0 {
			if err := s.logs.SetDrains(a.Name, a.Drains); err != nil {
				s.log.Warn("drain", "app", a.Name, "err", err)
			}
		}
	}
	return nil
}
