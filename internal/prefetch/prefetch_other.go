//go:build !amd64

package prefetch

import "unsafe"

// Line does nothing on this architecture: prefetching is only a hint.
func Line(p unsafe.Pointer) {}
