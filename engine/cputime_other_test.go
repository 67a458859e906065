//go:build !linux

package engine

import "time"

// threadCPU is not available outside Linux; benchmarks then report wall-clock figures only.
func threadCPU() (time.Duration, bool) { return 0, false }
