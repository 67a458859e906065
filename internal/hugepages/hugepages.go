// Package hugepages asks Linux to back the process's large anonymous mappings (the Go
// heap) with transparent huge pages, as a JVM's -XX:+UseTransparentHugePages does.
//
// A multi-gigabyte simulation reads its heap at random: with 4 KiB pages nearly every
// cache miss is also a TLB miss, and the page walk costs another trip to memory. The Go
// runtime leaves its heap to the system's THP policy, which is often "madvise" (huge
// pages only where a program asks). Advise asks, for the mappings present when it is
// called: MADV_HUGEPAGE makes later faults in them take huge pages, and MADV_COLLAPSE
// rebuilds what is already there (by copying it). Prefault asks before the heap is
// built: it has the heap map a large block, advises it untouched and lets it go, so the
// heap's first touches of those addresses take huge pages directly. Neither changes what the program computes; they change
// how fast memory is reached and may raise the resident size a little.
package hugepages
