package converge

import (
	"slices"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Config holds the convergence durations (DIEGO.md §4, defaults from the DR bbs spec).
type Config struct {
	StaleUnclaimed      time.Duration // 30s: UNCLAIMED longer than this is re-auctioned
	ExpirePendingTask   time.Duration // 30m: PENDING longer than this fails
	ExpireCompletedTask time.Duration // 2m: COMPLETED longer than this is deleted
	KickTask            time.Duration // 30s: RESOLVING / COMPLETED untouched this long is kicked
	// Restart is the crash restart policy (zero value: Diego's defaults, DIEGO.md §5).
	Restart model.RestartCalculator
}

// DefaultConfig returns Diego's defaults.
func DefaultConfig() Config {
	return Config{
		StaleUnclaimed:      model.DefaultStaleUnclaimedTimeout,
		ExpirePendingTask:   model.DefaultTaskExpirePending,
		ExpireCompletedTask: model.DefaultTaskExpireCompleted,
		KickTask:            model.DefaultTaskKickDuration,
	}
}

// Domain is a freshness domain (DIEGO.md §3.1). ExpiresAt 0 means it never expires.
type Domain struct {
	Name      string        `json:"name"`
	ExpiresAt time.Duration `json:"expires_at"`
}

// Expired reports whether the domain's expire_time is <= now (pruneDomains).
func (d Domain) Expired(now time.Duration) bool { return d.ExpiresAt != 0 && d.ExpiresAt <= now }

// Input is a full snapshot for Compute. Slices need not be sorted; Cells may repeat.
type Input struct {
	Desired []model.DesiredLRP
	Actual  []model.ActualLRP
	Tasks   []model.Task
	Cells   []string // ids of the cells whose presence is live
	Domains []Domain
	Config  Config
}

// MissingCell is an ORDINARY CLAIMED/RUNNING instance on a cell that is not present.
// SuspectExists says a SUSPECT row already exists for the key: then the ordinary row is
// only unclaimed (it is itself a replacement) and no start is requested (it is auctioned
// later as stale UNCLAIMED); otherwise it becomes SUSPECT, a new UNCLAIMED ORDINARY
// replacement is created and a start is requested.
type MissingCell struct {
	Key           model.ActualLRPKey
	CellID        string
	SuspectExists bool
}

// Plan is one convergence pass as data, step by step in the order of DIEGO.md §4.
type Plan struct {
	// LRP convergence
	PruneDomains     []string             // domains with expire_time <= now: delete
	PruneEvacuating  []model.ActualLRP    // EVACUATING rows on absent cells: delete
	StaleUnclaimed   []model.ActualLRPKey // UNCLAIMED for > StaleUnclaimed: start request
	MissingCells     []MissingCell        // ORDINARY CLAIMED/RUNNING on absent cells
	MissingInstances []model.ActualLRPKey // index < instances without an ORDINARY row: create + start
	ExtraInstances   []model.ActualLRPKey // ORDINARY index >= instances, domain fresh: retire
	Orphaned         []model.ActualLRPKey // ORDINARY without a desired LRP, domain fresh: retire
	OrphanedSuspects []model.ActualLRPKey // SUSPECT without a desired LRP, domain fresh: remove
	ExtraSuspects    []model.ActualLRPKey // SUSPECT RUNNING while the ORDINARY is RUNNING: remove
	PromoteSuspects  []model.ActualLRPKey // SUSPECT whose cell is present again: promote
	RestartCrashed   []model.ActualLRPKey // CRASHED and ShouldRestartCrash: unclaim + start
	MissingCellIDs   []string             // absent cells holding ORDINARY or SUSPECT CLAIMED/RUNNING rows of desired LRPs (metric)
	SuspectRunning   int                  // metric SuspectRunningActualLRPs
	SuspectClaimed   int                  // metric SuspectClaimedActualLRPs

	// Task convergence
	ExpirePendingTasks   []string // PENDING created before now-ExpirePendingTask: fail
	KickPendingTasks     []string // PENDING created after now-ExpirePendingTask: start request
	FailCellTasks        []string // RUNNING on an absent cell: fail
	DemoteResolvingTasks []string // RESOLVING untouched for > KickTask: back to COMPLETED
	DeleteCompletedTasks []string // COMPLETED (incl. demoted) first completed before now-ExpireCompletedTask
	KickCompletedTasks   []string // COMPLETED (incl. demoted, not deleted) untouched for > KickTask: callback
}

// Empty reports whether the plan asks for nothing (metrics aside).
func (p *Plan) Empty() bool {
	return len(p.PruneDomains)+len(p.PruneEvacuating)+len(p.StaleUnclaimed)+len(p.MissingCells)+
		len(p.MissingInstances)+len(p.ExtraInstances)+len(p.Orphaned)+len(p.OrphanedSuspects)+
		len(p.ExtraSuspects)+len(p.PromoteSuspects)+len(p.RestartCrashed)+len(p.ExpirePendingTasks)+
		len(p.KickPendingTasks)+len(p.FailCellTasks)+len(p.DemoteResolvingTasks)+
		len(p.DeleteCompletedTasks)+len(p.KickCompletedTasks) == 0
}

// --- per-row predicates shared by Compute and Tracker ---

// staleUnclaimed: ORDINARY UNCLAIMED with since < now - StaleUnclaimed (staleSince),
// whose desired LRP exists and still wants the index (the start request needs its
// scheduling info).
func staleUnclaimed(a *model.ActualLRP, d *model.DesiredLRP, now time.Duration, cfg Config) bool {
	return a.Presence == model.Ordinary && a.State == model.Unclaimed && wantsIndex(d, a.Index) &&
		staleSince(a.Since, now, cfg)
}

// staleSince: an UNCLAIMED row with this since is stale at now. The Tracker's
// unclaimed queue returns the rows due at since <= now-StaleUnclaimed-1, the same ones.
func staleSince(since, now time.Duration, cfg Config) bool { return since < now-cfg.StaleUnclaimed }

// restartDue: ORDINARY CRASHED whose backoff has passed (§5, RestartCalculator.ShouldRestart),
// desired LRP wanting it. The Tracker's crashed queues hold the rows with a restart
// delay at since + delay and return those due by now, the same ones.
func restartDue(a *model.ActualLRP, d *model.DesiredLRP, now time.Duration, rc *model.RestartCalculator) bool {
	return a.Presence == model.Ordinary && a.State == model.Crashed && wantsIndex(d, a.Index) &&
		rc.ShouldRestart(now, a.Since, a.CrashCount)
}

// wantsIndex: the desired LRP exists (d not nil) and wants the index.
func wantsIndex(d *model.DesiredLRP, index int) bool { return d != nil && index < d.Instances }

// missingSuspect: a SUSPECT row of a desired LRP, holding a container (CLAIMED or
// RUNNING) on an absent cell, keeps its cell in Diego's MissingCellIds: its query
// selects CLAIMED/RUNNING rows of any presence joined to desired_lrps, after the
// EVACUATING rows of absent cells were pruned.
func missingSuspect(a *model.ActualLRP, d *model.DesiredLRP, present bool) bool {
	return a.Presence == model.Suspect && d != nil && !present && (a.State == model.Claimed || a.State == model.Running)
}

// onCellRow: an ORDINARY row that holds a container (CLAIMED or RUNNING).
func onCellRow(a *model.ActualLRP) bool {
	return a.Presence == model.Ordinary && (a.State == model.Claimed || a.State == model.Running)
}

// freshDomains returns the expired domains' names, sorted, and sets fresh (emptied
// first: a caller reuses it) to the names of the others.
func freshDomains(domains []Domain, now time.Duration, fresh map[string]bool) (expired []string) {
	clear(fresh)
	for _, d := range domains {
		if d.Expired(now) {
			expired = append(expired, d.Name)
		} else {
			fresh[d.Name] = true
		}
	}
	slices.Sort(expired)
	return slices.Compact(expired)
}

// instanceCounts applies lrpInstanceCounts to one desired LRP whose ORDINARY rows have the
// given sorted indices (one per row). Diego only looks when the count differs.
func instanceCounts(d *model.DesiredLRP, indices []int, fresh map[string]bool, p *Plan) {
	if len(indices) == d.Instances {
		return
	}
	have := 0
	for i := 0; i < d.Instances; i++ {
		for have < len(indices) && indices[have] < i {
			have++
		}
		if have < len(indices) && indices[have] == i {
			continue
		}
		p.MissingInstances = append(p.MissingInstances, model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: i})
	}
	if !fresh[d.Domain] {
		return
	}
	for _, i := range indices {
		if i >= d.Instances {
			p.ExtraInstances = append(p.ExtraInstances, model.ActualLRPKey{ProcessGUID: d.ProcessGUID, Index: i})
		}
	}
}

// Compute returns the convergence plan for the snapshot in: the reference implementation,
// scanning everything.
func Compute(now time.Duration, in Input) Plan {
	var p Plan
	cfg := in.Config
	restart := cfg.Restart.OrDefault()
	present := make(map[string]bool, len(in.Cells))
	for _, c := range in.Cells {
		present[c] = true
	}
	fresh := make(map[string]bool, len(in.Domains))
	p.PruneDomains = freshDomains(in.Domains, now, fresh)

	desired := make(map[string]*model.DesiredLRP, len(in.Desired))
	for i := range in.Desired {
		desired[in.Desired[i].ProcessGUID] = &in.Desired[i]
	}
	actual := slices.Clone(in.Actual)
	slices.SortFunc(actual, compareActual)
	type rows struct{ ord, susp *model.ActualLRP }
	byKey := make(map[model.ActualLRPKey]*rows, len(actual))
	ordIdx := make(map[string][]int)
	missingCell := map[string]bool{}
	for i := range actual {
		a := &actual[i]
		r := byKey[a.ActualLRPKey]
		if r == nil {
			r = &rows{}
			byKey[a.ActualLRPKey] = r
		}
		switch a.Presence {
		case model.Ordinary:
			r.ord = a
			ordIdx[a.ProcessGUID] = append(ordIdx[a.ProcessGUID], a.Index)
		case model.Suspect:
			r.susp = a
		}
	}
	for i := range actual {
		a := &actual[i]
		d := desired[a.ProcessGUID]
		switch a.Presence {
		case model.Evacuating:
			if !present[a.CellID] {
				p.PruneEvacuating = append(p.PruneEvacuating, *a)
			}
		case model.Ordinary:
			if staleUnclaimed(a, d, now, cfg) {
				p.StaleUnclaimed = append(p.StaleUnclaimed, a.ActualLRPKey)
			}
			if onCellRow(a) && !present[a.CellID] && d != nil {
				missingCell[a.CellID] = true
				p.MissingCells = append(p.MissingCells, MissingCell{Key: a.ActualLRPKey, CellID: a.CellID, SuspectExists: byKey[a.ActualLRPKey].susp != nil})
			}
			if d == nil && fresh[a.Domain] {
				p.Orphaned = append(p.Orphaned, a.ActualLRPKey)
			}
			if restartDue(a, d, now, &restart) {
				p.RestartCrashed = append(p.RestartCrashed, a.ActualLRPKey)
			}
		case model.Suspect:
			if d == nil && fresh[a.Domain] {
				p.OrphanedSuspects = append(p.OrphanedSuspects, a.ActualLRPKey)
			}
			if missingSuspect(a, d, present[a.CellID]) {
				missingCell[a.CellID] = true
			}
			if o := byKey[a.ActualLRPKey].ord; a.State == model.Running && o != nil && o.State == model.Running {
				p.ExtraSuspects = append(p.ExtraSuspects, a.ActualLRPKey)
			}
			if present[a.CellID] {
				p.PromoteSuspects = append(p.PromoteSuspects, a.ActualLRPKey)
			}
			switch a.State {
			case model.Running:
				p.SuspectRunning++
			case model.Claimed:
				p.SuspectClaimed++
			}
		}
	}
	ds := slices.Clone(in.Desired)
	slices.SortFunc(ds, func(a, b model.DesiredLRP) int { return cmpString(a.ProcessGUID, b.ProcessGUID) })
	for i := range ds {
		instanceCounts(&ds[i], ordIdx[ds[i].ProcessGUID], fresh, &p)
	}
	p.MissingCellIDs = sortedKeys(missingCell)

	tasks := slices.Clone(in.Tasks)
	slices.SortFunc(tasks, func(a, b model.Task) int { return cmpString(a.GUID, b.GUID) })
	for i := range tasks {
		planTask(&tasks[i], now, cfg, func(c string) bool { return present[c] }, &p)
	}
	return p
}

// planTask applies the task convergence steps to one task. The steps run in order in
// Diego's SQL, so a RESOLVING task demoted in this pass is then treated as COMPLETED.
func planTask(t *model.Task, now time.Duration, cfg Config, present func(string) bool, p *Plan) {
	switch t.State {
	case model.TaskPending:
		// Diego: created_at < now-expire fails, created_at > now-expire is kicked; a task
		// created exactly at now-expire is neither (until the next pass expires it).
		switch boundary := now - cfg.ExpirePendingTask; {
		case t.CreatedAt < boundary:
			p.ExpirePendingTasks = append(p.ExpirePendingTasks, t.GUID)
		case t.CreatedAt > boundary:
			p.KickPendingTasks = append(p.KickPendingTasks, t.GUID)
		}
	case model.TaskRunning:
		if !present(t.CellID) {
			p.FailCellTasks = append(p.FailCellTasks, t.GUID)
		}
	case model.TaskResolving:
		if t.UpdatedAt < now-cfg.KickTask {
			p.DemoteResolvingTasks = append(p.DemoteResolvingTasks, t.GUID)
			completedTask(t, now, cfg, p)
		}
	case model.TaskCompleted:
		completedTask(t, now, cfg, p)
	}
}

func completedTask(t *model.Task, now time.Duration, cfg Config, p *Plan) {
	if t.FirstCompletedAt < now-cfg.ExpireCompletedTask {
		p.DeleteCompletedTasks = append(p.DeleteCompletedTasks, t.GUID)
	} else if t.UpdatedAt < now-cfg.KickTask {
		p.KickCompletedTasks = append(p.KickCompletedTasks, t.GUID)
	}
}

func compareActual(a, b model.ActualLRP) int {
	if c := compareKey(a.ActualLRPKey, b.ActualLRPKey); c != 0 {
		return c
	}
	return int(a.Presence) - int(b.Presence)
}

func compareKey(a, b model.ActualLRPKey) int {
	if c := cmpString(a.ProcessGUID, b.ProcessGUID); c != 0 {
		return c
	}
	return a.Index - b.Index
}

// cmpString is strings.Compare: one comparison of the bytes, where a < b then a > b
// would make two.
func cmpString(a, b string) int { return strings.Compare(a, b) }

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
