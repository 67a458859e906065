// Package auction is Diego's batch auction (../shared/DIEGO.md §1 and §9) and a
// registry of placement algorithms that share its batch semantics.
//
// # The auction
//
// A State holds every cell the auctioneer knows with the work on it. It is persistent:
// the driver updates it incrementally (AddCell, RemoveCell, SetEvacuating, AddLRP,
// RemoveLRP, AddTask, RemoveTask, Started) and Schedule reserves every winner in it, so
// later items of a batch, and later batches, see earlier placements. Schedule:
//
//  1. de-duplicates (LRPs by process guid and index, tasks by guid; first wins);
//  2. orders: index-0 LRPs, then tasks, then LRPs of index >= 1 by index; larger memory
//     first inside each group; stable with respect to the input (diegolab's tie-break,
//     DIEGO.md §1.6 quirks 1 and 2);
//  3. per item: "unable to communicate" when no cell takes part, the in-flight start
//     limit, the filters rootfs -> volume drivers -> placement tags with the most
//     advanced error over all cells (§1.6 quirk 3), the fit check (memory + proxy
//     memory for LRPs, disk, one container, MaxPerCell), the algorithm's choice, and
//     "insufficient resources: <problems every compatible cell shares>" when none fits;
//  4. reserves the winner: the plain resources leave Available, StartingContainers and
//     the in-flight count rise, same-guid and task counts rise.
//
// Results list the de-duplicated items in input order of first occurrence.
//
// # The exact index (algorithm diego)
//
// Cells are grouped by (zone, capabilities, totals, proxy memory): a group passes or
// fails the filters as a whole, and within it the request-dependent part of the score,
// q = (mem/totMem + disk/totDisk + 1/totContainers)/3, is the same for every cell. Each
// group keeps a binary tree over its cells whose nodes hold, for the subtree, the
// minimum real-valued key K = 1 - (avail fractions)/3 + starting x weight (+ rank x
// bin-pack weight for LRPs, + 1000 x tasks for tasks), the maximum available memory,
// disk and containers, the minimum starting count, zone rank, task count and cell order.
// An update costs O(log cells).
//
// An item is placed by a best-first branch and bound over the trees of the compatible
// groups of the current zone tier, which returns exactly what a scan of every cell
// would (lowest exact float64 score, ties to the earliest cell order, below 1e20):
//
//   - a subtree whose maxima do not fit the request is skipped (it has no feasible cell);
//   - the exact bound: Diego's score formula evaluated, in the same float64 operations,
//     on the subtree's best figures (maximum available, minimum starting, rank or tasks,
//     no locality term) is <= the score of every cell below, because each float64
//     operation is monotone and every term is non-negative (Settings.Validate rejects
//     negative weights). A subtree whose bound exceeds the best score found, or equals
//     it with only later cells, is skipped: this is what makes exact ties (identical
//     cells in a cold start) cost O(log cells) instead of a scan;
//   - the estimate: min K + q is within a relative 1e-9 of every score below (the float64
//     rounding is ~1e-15); nodes leave the heap in estimate order, and the search stops
//     at the first whose estimate exceeds the best score by more than that margin.
//
// None of this assumes the terms are lexicographic: 1000 x same-guid count, bin-pack
// rank x weight and starting x weight may be of any size; a large locality or bin-pack
// term only makes more nodes survive the bounds (slower, never different). Exactness is
// checked by a differential test against a plain scan written independently
// (reference_test.go) on thousands of random states and settings.
//
// # Algorithms
//
// An Algorithm chooses among the feasible candidates (Candidate, in cell order) of one
// request; everything else is shared. Register adds one by name; New and Names look them
// up. Built in: diego (default, exact, indexed), first-fit, best-fit, worst-fit, random,
// power-of-two, dot-product and balanced (docs/algorithms.md). Only diego uses the
// index; the others cost O(cells) per item.
//
// # Invariants
//
// Pure: no clock, no I/O, no goroutines, no global randomness (randomised algorithms use
// the *rand.Rand handed to Schedule); maps are never iterated where order could leak
// into a result. Same inputs give the same results. No cell's Available ever goes
// negative.
package auction
