package control

import (
	"math/rand/v2"

	"github.com/diegolab/diegolab/model/bbs"
)

// Open builds a plane over a store that may already hold rows, as a restarted BBS
// does: the BBS is rebuilt with bbs.Open, and the auctioneer continues its instance
// guid sequence after issued (the number of guids handed out before, which the driver
// persists), so no guid of the previous life is reused.
func Open(cfg Config, store bbs.Store, rng *rand.Rand, issued uint64) (*Plane, error) {
	p, err := New(cfg, store, rng)
	if err != nil {
		return nil, err
	}
	b, err := bbs.Open(store, cfg.BBS)
	if err != nil {
		return nil, err
	}
	p.bbs = b
	p.instances = issued
	return p, nil
}

// InstancesIssued is the number of instance guids the auctioneer has handed out; a
// driver persists it to reopen the plane with Open.
func (p *Plane) InstancesIssued() uint64 { return p.instances }
