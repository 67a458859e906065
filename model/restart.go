package model

import "time"

// Crash restart policy (DIEGO.md §5; Diego: bbs models/restart_calculator.go).
const (
	// DefaultImmediateRestarts: crash counts below this restart at once.
	DefaultImmediateRestarts = 3
	// DefaultMaxRestarts: from this crash count on an instance is never restarted.
	DefaultMaxRestarts = 200
	// CrashBackoffMinDuration is the first backoff (crash count 3).
	CrashBackoffMinDuration = 30 * time.Second
	// DefaultMaxBackoffDuration caps the backoff.
	DefaultMaxBackoffDuration = 16 * time.Minute
	// MaxBackoffCount = floor(log2(ceil(16m / 30s))) = log2(32) = 5: the largest exponent.
	MaxBackoffCount = 5
	// CrashResetTimeout: a crash after running for longer than this restarts the count at 1.
	CrashResetTimeout = 5 * time.Minute
)

// ShouldRestartImmediately reports whether an instance whose crash count (after the
// increment) is crashCount goes straight back to UNCLAIMED and is auctioned at once.
func ShouldRestartImmediately(crashCount int) bool {
	return crashCount < DefaultImmediateRestarts
}

// RestartDelay is how long after the crash (since) a CRASHED instance with this crash
// count waits before convergence restarts it; ok is false when it is never restarted
// (crashCount >= 200). Immediate restarts have a zero delay.
//
//	c:     0..2  3    4    5   6   7   8..199  >=200
//	delay: 0     30s  60s  2m  4m  8m  16m     never
func RestartDelay(crashCount int) (time.Duration, bool) {
	switch {
	case crashCount < DefaultImmediateRestarts:
		return 0, true
	case crashCount >= DefaultMaxRestarts:
		return 0, false
	}
	exp := min(crashCount-DefaultImmediateRestarts, MaxBackoffCount)
	return min(CrashBackoffMinDuration<<exp, DefaultMaxBackoffDuration), true
}

// ShouldRestartCrash reports whether convergence at now restarts a CRASHED instance that
// crashed at since with the given count: now >= since + RestartDelay(count).
func ShouldRestartCrash(now, since time.Duration, crashCount int) bool {
	d, ok := RestartDelay(crashCount)
	return ok && now >= since+d
}

// NextCrashCount is the crash count after a crash at now of an instance in state, last
// changed at since, with count crashes so far: 1 if it was RUNNING for more than
// CrashResetTimeout, count+1 otherwise (Diego: actual_lrp_db.go CrashActualLRP).
func NextCrashCount(state ActualLRPState, since, now time.Duration, count int) int {
	if state == Running && now-since > CrashResetTimeout {
		return 1
	}
	return count + 1
}
