// Package scenarios defines diegolab's scenario format, a TOML file users write by
// hand, and loads it into a validated Scenario: the cluster ([[cells]]), the workload
// ([[apps]], [[tasks]]), Diego's settings ([auction], [timers]) and a timeline of
// faults and operations ([[events]]). docs/scenario.md is the reference for every key.
//
// Loading goes in four steps, all with github.com/BurntSushi/toml:
//
//  1. decode the file into a map (syntax errors come from toml.ParseError, with line
//     and column), and find the line of every key path ("apps[2].memory_mb");
//  2. apply the "key=value" overrides to the map ("run.seed=7", "apps.web.instances=10");
//  3. re-encode the map and decode it into the schema, whose leaves take any value:
//     MetaData.Undecoded lists the unknown keys;
//  4. convert and check every value, then the timeline (selectors against the cells
//     and apps that exist at each event's time) and capacity (warnings).
//
// Every problem becomes an *Error naming the file, the line (or the override), the
// key path and what is expected; all problems found are returned together
// (errors.Join). Warnings (work larger than any cell, more app memory than the
// cluster has) do not stop loading and are kept in Scenario.Warnings.
//
// Invariants of a loaded Scenario:
//   - every default is applied (Diego's, see DefaultTimers and the Default* constants);
//   - there is at least one cell; groups have Count >= 0, apps >= 1, tasks >= 1;
//   - cell ids "<name>-<n>" are unique: n counts on across groups of the same name
//     (CellGroup.First), and n is the decimal after the last "-", so two names never
//     produce the same id; likewise process guids "<app group>-<i>" and task guids,
//     since group names are unique per kind;
//   - every event's At is within [0, Duration], its keys belong to its action, and
//     its selectors match something at that time;
//   - Parse is deterministic and does no I/O (Load reads one file); it never panics,
//     whatever the bytes (FuzzParse).
//
// Shipped scenarios are embedded (Shipped, LoadShipped, Resolve), so the binary runs
// them from any directory. Dist is the duration distribution used by start times,
// crash times, task durations and auction latency; Sample takes a *rand.Rand from the
// caller and is deterministic for a given state.
package scenarios
