package prefetch

import "unsafe"

// Line starts loading the cache line that holds p into all cache levels (PREFETCHT0).
//
//go:noescape
func Line(p unsafe.Pointer)
