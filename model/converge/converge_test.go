package converge

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/diegolab/diegolab/model"
)

const s = time.Second

func k(g string, i int) model.ActualLRPKey { return model.ActualLRPKey{ProcessGUID: g, Index: i} }

func ik(g, c string) model.InstanceKey { return model.InstanceKey{InstanceGUID: g, CellID: c} }

func desired(g string, n int) model.DesiredLRP {
	return model.DesiredLRP{ProcessGUID: g, Domain: "cf-apps", Instances: n, RootFS: "preloaded:x"}
}

func running(g string, i int, cell string) model.ActualLRP {
	return model.ActualLRP{ActualLRPKey: k(g, i), Domain: "cf-apps", InstanceKey: ik(g+"-i", cell), State: model.Running}
}

// TestComputeSteps states, for each step of DIEGO.md §4, a snapshot and the plan it gives.
// now = 1000s everywhere; the cf-apps domain never expires unless a test says otherwise.
func TestComputeSteps(t *testing.T) {
	const now = 1000 * s
	fresh := []Domain{{Name: "cf-apps"}}
	tests := []struct {
		name string
		in   Input
		want Plan
	}{
		{"pruneDomains: expire_time <= now is deleted; freshness then fails retire",
			Input{Domains: []Domain{{Name: "cf-apps", ExpiresAt: now}, {Name: "b", ExpiresAt: now + 1}},
				Desired: []model.DesiredLRP{desired("a", 0)}, Actual: []model.ActualLRP{running("a", 0, "c1")}, Cells: []string{"c1"}},
			Plan{PruneDomains: []string{"cf-apps"}}},
		{"pruneEvacuating: EVACUATING rows on absent cells only",
			Input{Domains: fresh, Desired: []model.DesiredLRP{desired("a", 2)}, Cells: []string{"c1"}, Actual: []model.ActualLRP{
				running("a", 0, "c1"), {ActualLRPKey: k("a", 0), InstanceKey: ik("e0", "c9"), State: model.Running, Presence: model.Evacuating},
				running("a", 1, "c1"), {ActualLRPKey: k("a", 1), InstanceKey: ik("e1", "c1"), State: model.Running, Presence: model.Evacuating}}},
			Plan{PruneEvacuating: []model.ActualLRP{{ActualLRPKey: k("a", 0), InstanceKey: ik("e0", "c9"), State: model.Running, Presence: model.Evacuating}}}},
		{"staleUnclaimed: since < now-30s (strictly), desired wants the index",
			Input{Domains: fresh, Desired: []model.DesiredLRP{desired("a", 3)}, Actual: []model.ActualLRP{
				{ActualLRPKey: k("a", 0), State: model.Unclaimed, Since: now - 31*s},
				{ActualLRPKey: k("a", 1), State: model.Unclaimed, Since: now - 30*s}, // exactly 30s: not yet
				{ActualLRPKey: k("a", 2), State: model.Unclaimed, Since: 0, PlacementError: "insufficient resources: memory"}}},
			Plan{StaleUnclaimed: []model.ActualLRPKey{k("a", 0), k("a", 2)}}},
		{"actualLRPsWithMissingCells: suspect + replacement, or unclaim when a suspect exists",
			Input{Domains: fresh, Desired: []model.DesiredLRP{desired("a", 2)}, Cells: []string{"c1"}, Actual: []model.ActualLRP{
				running("a", 0, "c2"),
				{ActualLRPKey: k("a", 1), InstanceKey: ik("r", "c3"), State: model.Claimed},
				{ActualLRPKey: k("a", 1), InstanceKey: ik("s", "c2"), State: model.Running, Presence: model.Suspect}}},
			Plan{MissingCells: []MissingCell{{Key: k("a", 0), CellID: "c2"}, {Key: k("a", 1), CellID: "c3", SuspectExists: true}},
				MissingCellIDs: []string{"c2", "c3"}, SuspectRunning: 1}},
		{"no cells at all: every CLAIMED/RUNNING instance is on a missing cell",
			Input{Domains: fresh, Desired: []model.DesiredLRP{desired("a", 1)}, Actual: []model.ActualLRP{running("a", 0, "c1")}},
			Plan{MissingCells: []MissingCell{{Key: k("a", 0), CellID: "c1"}}, MissingCellIDs: []string{"c1"}}},
		{"lrpInstanceCounts: missing indices created, extra ones retired (fresh domain)",
			Input{Domains: fresh, Cells: []string{"c1"}, Desired: []model.DesiredLRP{desired("a", 3), desired("b", 1)}, Actual: []model.ActualLRP{
				running("a", 1, "c1"), running("b", 0, "c1"), running("b", 1, "c1"), running("b", 4, "c1")}},
			Plan{MissingInstances: []model.ActualLRPKey{k("a", 0), k("a", 2)}, ExtraInstances: []model.ActualLRPKey{k("b", 1), k("b", 4)}}},
		{"lrpInstanceCounts: extra instances stay while the domain is not fresh",
			Input{Cells: []string{"c1"}, Desired: []model.DesiredLRP{desired("b", 1)}, Actual: []model.ActualLRP{running("b", 0, "c1"), running("b", 1, "c1")}},
			Plan{}},
		{"orphanedActualLRPs: no desired LRP, domain fresh",
			Input{Domains: fresh, Cells: []string{"c1"}, Actual: []model.ActualLRP{running("gone", 0, "c1"),
				{ActualLRPKey: k("stale", 0), Domain: "unknown", State: model.Unclaimed}}},
			Plan{Orphaned: []model.ActualLRPKey{k("gone", 0)}}},
		{"orphaned and extra suspects: removed",
			Input{Domains: fresh, Cells: []string{"c1"}, Desired: []model.DesiredLRP{desired("a", 1)}, Actual: []model.ActualLRP{
				running("a", 0, "c1"), {ActualLRPKey: k("a", 0), InstanceKey: ik("s", "c9"), State: model.Running, Presence: model.Suspect},
				{ActualLRPKey: k("gone", 0), Domain: "cf-apps", InstanceKey: ik("s", "c9"), State: model.Claimed, Presence: model.Suspect},
				{ActualLRPKey: k("stale", 0), Domain: "old-domain", InstanceKey: ik("s", "c9"), State: model.Claimed, Presence: model.Suspect}}},
			// c9 stays missing while a/0's suspect is on it (gone and stale have no desired LRP);
			// stale's domain is unknown, so its orphaned suspect stays.
			Plan{OrphanedSuspects: []model.ActualLRPKey{k("gone", 0)}, ExtraSuspects: []model.ActualLRPKey{k("a", 0)},
				MissingCellIDs: []string{"c9"}, SuspectRunning: 1, SuspectClaimed: 2}},
		{"suspectActualLRPsWithExistingCells: the cell is back, promote",
			Input{Domains: fresh, Cells: []string{"c1", "c2"}, Desired: []model.DesiredLRP{desired("a", 1)}, Actual: []model.ActualLRP{
				{ActualLRPKey: k("a", 0), Domain: "cf-apps", State: model.Unclaimed, Since: now},
				{ActualLRPKey: k("a", 0), InstanceKey: ik("s", "c2"), State: model.Running, Presence: model.Suspect}}},
			Plan{PromoteSuspects: []model.ActualLRPKey{k("a", 0)}, SuspectRunning: 1}},
		{"crashedActualLRPs: restart once the §5 backoff has passed",
			Input{Domains: fresh, Desired: []model.DesiredLRP{desired("a", 4)}, Actual: []model.ActualLRP{
				{ActualLRPKey: k("a", 0), State: model.Crashed, CrashCount: 3, Since: now - 30*s},  // 30s backoff: due
				{ActualLRPKey: k("a", 1), State: model.Crashed, CrashCount: 4, Since: now - 59*s},  // 60s: not yet
				{ActualLRPKey: k("a", 2), State: model.Crashed, CrashCount: 8, Since: now - 960*s}, // 16m: due
				{ActualLRPKey: k("a", 3), State: model.Crashed, CrashCount: 200, Since: 0}}},       // never
			Plan{RestartCrashed: []model.ActualLRPKey{k("a", 0), k("a", 2)}}},
		{"tasks: expire pending older than 30m, kick the younger ones, neither at exactly 30m",
			Input{Tasks: []model.Task{{GUID: "old", State: model.TaskPending, CreatedAt: now - 30*time.Minute - 1},
				{GUID: "edge", State: model.TaskPending, CreatedAt: now - 30*time.Minute},
				{GUID: "new", State: model.TaskPending, CreatedAt: now - 30*time.Minute + 1}}},
			Plan{ExpirePendingTasks: []string{"old"}, KickPendingTasks: []string{"new"}}},
		{"tasks: RUNNING on a vanished cell fails",
			Input{Cells: []string{"c1"}, Tasks: []model.Task{{GUID: "here", State: model.TaskRunning, CellID: "c1"},
				{GUID: "lost", State: model.TaskRunning, CellID: "c2"}}},
			Plan{FailCellTasks: []string{"lost"}}},
		{"tasks: resolving demoted after 30s, completed deleted after 2m, else re-kicked after 30s",
			Input{Tasks: []model.Task{
				{GUID: "r-new", State: model.TaskResolving, UpdatedAt: now - 30*s, FirstCompletedAt: now - 40*s},
				{GUID: "r-old", State: model.TaskResolving, UpdatedAt: now - 31*s, FirstCompletedAt: now - 40*s},   // demoted then kicked
				{GUID: "r-exp", State: model.TaskResolving, UpdatedAt: now - 31*s, FirstCompletedAt: now - 121*s},  // demoted then deleted
				{GUID: "c-exp", State: model.TaskCompleted, UpdatedAt: now - 121*s, FirstCompletedAt: now - 121*s}, // deleted
				{GUID: "c-kick", State: model.TaskCompleted, UpdatedAt: now - 31*s, FirstCompletedAt: now - 31*s},
				{GUID: "c-new", State: model.TaskCompleted, UpdatedAt: now - 10*s, FirstCompletedAt: now - 10*s}}},
			Plan{DemoteResolvingTasks: []string{"r-exp", "r-old"}, DeleteCompletedTasks: []string{"c-exp", "r-exp"}, KickCompletedTasks: []string{"c-kick", "r-old"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Config = DefaultConfig()
			got := Compute(now, tc.in)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
