// Package auction is Diego's batch auction (../shared/DIEGO.md §1 and §9) and a
// registry of placement algorithms that share its batch semantics.
//
// # The auction
//
// A State holds every cell the auctioneer knows with the work on it. It is persistent:
// the driver updates it incrementally (AddCell, RemoveCell, SetEvacuating, AddLRP,
// RemoveLRP, AddTask, RemoveTask, Started) and Schedule reserves every winner in it, so
// later items of a batch, and later batches, see earlier placements. A driver that
// keeps a CellRef per cell (Ref) calls RemoveLRPRef and StartedRef instead of the id
// versions: the same code without the id lookup; a ref is stale for good once
// RemoveCell forgets its cell (the id versions' unknown-cell error), and a cell added
// again under the same id has a new ref. Schedule:
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
// group keeps a tree of fan-out 4 (index.go: half the levels of a binary tree for a
// search dive or a flush climb to cross, the children of a node adjacent in memory)
// over its cells whose nodes hold, for the subtree, the minimum real-valued key
// K = 1 - (avail fractions)/3 + starting x weight (+ rank x bin-pack weight for LRPs,
// + 1000 x tasks for tasks), the maximum available memory, disk and containers, the
// minimum starting count, zone rank, task count and cell order. What diego's LRP search
// reads (the LRP key, the maxima, minimum starting, rank and cell order: 32 bytes, and
// the tie class below) is kept apart from what only tasks and the other built-ins read
// (the task key and count, the figures and the minimum cell order over cells with a
// free container: the cold part, also 32 bytes). An update writes the cell's leaf at
// once and lists it; the inner nodes above the listed leaves are recomputed lazily
// (flush), once each, level by level, stopping where a node comes out unchanged, by
// the searches that read them, before they read: each part is flushed only by its
// readers (the hot part by diego's searches, dot-product and the error text; the cold
// part by tasks and the other built-ins), and the cold part is rebuilt whole, once,
// when more than a fan-th of its leaves wait; while it waits so, a cell's cold leaf
// is not written either, only its group marked stale, and the rebuild recomputes the
// group's cold leaves from their cells first (diego's steady state never reads the cold
// part: a cache line less per update). RemoveLRP, Started and the like between two auctions thus
// cost one leaf each, and a flush costs at most O(log cells) per listed leaf; the
// nodes are bit for bit those of an update of every ancestor per write (an inner node
// is a function of its children only, the fold of the pairwise rules over them in
// order; lazy_test.go and index_test.go check it against the children and against
// the leaves of each subtree, on trees of many sizes).
//
// Same-guid counts per cell (gidCounts) are a small open-addressing table of
// (interned guid, count) pairs rather than a Go map: one or two adjacent 8-byte slots
// per lookup, no more memory. The State also keeps where each cell's table lives (its
// first slot and shift) in a dense array indexed from the CellRef, so that PrefetchLRP
// computes a count's slot without waiting for the cell's record to load. The per-zone
// counts of a guid (its zone tiers) sit in one flat array, a seen flag and one int32
// per zone for each interned guid: no slice header per guid to follow (nor keep).
//
// Schedule keeps its scratch (the interned guid per result, the placement order) in
// the State between calls of up to a few thousand items, and de-duplicates a batch of
// up to 64 LRPs by a scan instead of a map: an auction of the steady state allocates
// only its Results (which stay the caller's, as before). A bigger batch (a first
// auction of millions of instances) is de-duplicated and ordered in linear time
// (order.go): per guid id, the count of its indices seen so far while they come as
// 0, 1, 2, ... (a repeat is then an index below the count; only a guid that breaks
// the pattern goes to a map), and from 1,024 LRPs a counting sort by (index, memory
// rank) that lays each bucket out in input order (stable), for batches of at most 256
// memory figures and indices spread over no more buckets than the batch has items;
// others take the comparison sorts. order_test.go holds both to a plain map and a
// stable sort.
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
//     cells in a cold start) cost O(log cells) instead of a scan. A dive made before
//     any best exists keeps the nodes it passes by aside and queues only those that
//     pass these tests once the dive has found its cell;
//   - the estimate: min K + q is within a relative 1e-9 of every score below (the float64
//     rounding is ~1e-15); nodes leave the heap in estimate order (the groups' roots
//     too), and the search stops at the first whose estimate exceeds the best score by
//     more than that margin.
//   - exact ties (LRPs): each node also keeps its tie class, the cells at its minimum K,
//     with their figures when they all share them (figures a zero weight multiplies away
//     left out), their lowest cell order and the next K above; a subtree whose class has
//     the best cell's very figures (same totals and proxy memory), later in cell order,
//     with nothing else within the margin, is dismissed while the best cell has no
//     instance of the guid: its class scores exactly the best score and loses the tie.
//     At 10,000 cells identical cells are common: in Diego's 250k mix scaled to 10,000
//     cells this took a search from 49 heap pushes and 44 pops to 15 and 10.
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
// power-of-two, dot-product and balanced (docs/algorithms.md).
//
// Every built-in implements the unexported indexed interface and runs on the index;
// Schedule enumerates candidates and calls Choose only for other algorithms (a user's,
// or a built-in wrapped in another type): O(cells) per item. Besides diego's fields a
// node's cold part holds the maximum and minimum available memory and disk and the
// minimum cell order over the cells of its subtree that have a free container (the
// others fit nothing), so that a cell full on containers does not make its subtree
// look feasible; these searches read the cold part only (dot-product also the hot
// maxC), so they flush only it.
//
//   - first-fit, best-fit, worst-fit, dot-product and balanced maximise a value (ties to
//     the lowest cell order) by a depth-first branch and bound over the compatible
//     groups' trees (fast.go): a subtree whose maxima do not fit has no feasible cell; a
//     subtree is skipped when its upper bound is below the best value found, or equal
//     to it with only later cells (the minimum cell order), which makes exact ties
//     between identical cells cost O(log cells). Children are bounded before any is
//     entered, entered by descending bound, and the rest dropped at the first one
//     pruned; the four leaves below a node are taken in order, each read (its cell,
//     MaxPerCell, the value) only when its bound does not prune it. The bounds (maxima
//     and minima over the cells with a free container): first-fit -(min order); worst-fit
//     max memory - mem; best-fit -(max(min memory, mem) - mem); dot-product its
//     value on the maxima (each float64 operation is monotone and every coefficient
//     non-negative); balanced, whose value is 1 + min(free fractions) in real numbers,
//     that real form on the maxima plus 1e-12 (a hundredfold the float64 rounding), or
//     its exact value when all cells below share their memory and disk (on a leaf, the
//     real form first, then the exact value from the leaf's figures). Leaves are
//     valued by the same functions as Choose (dotValue, balancedValue), so the winner is
//     Choose's over the enumerated candidates: checked by a differential test
//     (diff_fast_test.go) on random persistent states.
//   - random draws a cell uniformly among all cells and keeps it if feasible, up to 16
//     times, then draws among the enumerated feasible cells: exactly uniform over the
//     feasible cells, a function of the stream. power-of-two draws its first cell so and
//     its second so among the feasible cells but the first, and compares DiegoScore on
//     the Candidates Choose would get. With a nil stream both take the first feasible
//     cell (first-fit's search).
//
// # Invariants
//
// Pure: no clock, no I/O, no goroutines, no global randomness (randomised algorithms use
// the *rand.Rand handed to Schedule); maps are never iterated where order could leak
// into a result. Same inputs give the same results. No cell's Available ever goes
// negative.
package auction
