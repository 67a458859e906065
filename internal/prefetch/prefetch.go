// Package prefetch asks the CPU to start loading a cache line that the caller will read
// soon. It has no effect on results: a prefetch is a hint, it never faults and never
// changes memory. The simulation uses it to overlap the cache misses of the next event
// with the work of the current one (most of a large run's time is waiting for memory).
package prefetch
