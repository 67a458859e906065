package rep

import (
	"context"
	"encoding/json"
	"time"

	"github.com/diegolab/diegolab/model"
	mrep "github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

// A rep that dies (kill -9, a crash) leaves its LRP containers running, and their
// ports served by the executor's port proxies: in Diego, the containers and their
// ports survive a rep restart. The rep keeps with each LRP container what it needs
// to take it over again (lrpMeta, in the executor's container record); a restarted
// rep re-adopts those still running as RUNNING instances, supervises them again, and
// lets the bulk sync reconcile them with the BBS (one the BBS no longer wants is
// stopped there). Task containers are not re-adopted: they are cleaned up, and the
// bulk sync fails their tasks as Diego's rep does for a task it lost.

// lrpMeta is an LRP container's record of the instance it runs.
type lrpMeta struct {
	Key         model.ActualLRPKey `json:"key"`
	Instance    model.InstanceKey  `json:"instance"`
	Resource    model.Resource     `json:"resource"`
	App         string             `json:"app"`
	HealthCheck api.HealthCheck    `json:"health_check"`
	Born        time.Time          `json:"born"`
	// Digest and Layers: the image a Docker app's container runs on (docker.go).
	Digest string   `json:"digest,omitempty"`
	Layers []string `json:"layers,omitempty"`
}

// lrpMeta is c's lrpMeta, encoded.
func (r *Rep) lrpMeta(c *lrpC, digest string, layers []string) json.RawMessage {
	r.mu.Lock()
	m := lrpMeta{Key: c.key, Instance: c.ik, Resource: c.res, App: c.app, HealthCheck: c.hc, Born: c.born, Digest: digest, Layers: layers}
	r.mu.Unlock()
	b, _ := json.Marshal(m)
	return b
}

// recoverContainers re-adopts the LRP containers a previous life of this rep left
// running and cleans up everything else it left. Serve supervises the adopted ones.
func (r *Rep) recoverContainers() {
	metas := map[string]lrpMeta{}
	adopt := func(id string, raw json.RawMessage) (func(executor.LogLine), bool) {
		var m lrpMeta
		if json.Unmarshal(raw, &m) != nil || m.Key.ProcessGUID == "" || m.Instance.InstanceGUID == "" ||
			m.Instance.CellID != r.cfg.CellID {
			return nil, false
		}
		metas[id] = m
		return r.sink(m.App, api.SourceApp, m.Key.Index), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cts, err := r.ex.Recover(ctx, adopt)
	if err != nil {
		r.log.Warn("cleanup of a previous life", "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ct := range cts {
		m, ok := metas[ct.ID()]
		if !ok {
			continue
		}
		addr, _ := ct.HostAddr(portOf(ct))
		ct = r.holdAdopted(ct, m)
		c := &lrpC{Container: mrep.AdoptLRP(), key: m.Key, ik: m.Instance, res: m.Resource, born: m.Born, ct: ct,
			addr: addr, app: m.App, hc: m.HealthCheck}
		r.lrps[m.Instance.InstanceGUID] = c
		r.adopted = append(r.adopted, c)
		r.log.Info("re-adopted a running instance", "lrp", m.Key.String(), "instance", m.Instance.InstanceGUID, "address", addr)
	}
}
