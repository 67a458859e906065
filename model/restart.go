package model

import (
	"fmt"
	"math/bits"
	"time"
)

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

	// maxRestartSetting bounds the counts a RestartCalculator accepts (Diego's are int32).
	maxRestartSetting = 1 << 31
	// maxBackoffSetting bounds MaxBackoffDuration: a year, far beyond any useful backoff,
	// so that since + delay never overflows.
	maxBackoffSetting = 365 * 24 * time.Hour
)

// RestartCalculator is Diego's configurable crash restart policy: crash counts below
// ImmediateRestarts restart at once, counts from MaxRestarts on never, the others after
// CrashBackoffMinDuration × 2^(count−ImmediateRestarts), the exponent capped at
// MaxBackoffCount and the delay at MaxBackoffDuration.
//
// The zero value stands for Diego's defaults (DefaultRestartCalculator), so a Config that
// does not set one keeps today's policy.
type RestartCalculator struct {
	ImmediateRestarts  int
	MaxBackoffDuration time.Duration
	MaxRestarts        int
	// MaxBackoffCount is derived by NewRestartCalculator: floor(log2(ceil(
	// MaxBackoffDuration / CrashBackoffMinDuration))).
	MaxBackoffCount int
}

// NewRestartCalculator returns the policy with MaxBackoffCount derived from the backoff
// cap (Diego: NewRestartCalculator; 16m gives 5, 8m 4, 119s and 120s 2, 30s 0).
func NewRestartCalculator(immediateRestarts int, maxBackoffDuration time.Duration, maxRestarts int) RestartCalculator {
	return RestartCalculator{ImmediateRestarts: immediateRestarts, MaxBackoffDuration: maxBackoffDuration,
		MaxRestarts: maxRestarts, MaxBackoffCount: backoffCount(maxBackoffDuration)}
}

// DefaultRestartCalculator is Diego's default policy (3 immediate restarts, 16m cap, 200).
func DefaultRestartCalculator() RestartCalculator {
	return NewRestartCalculator(DefaultImmediateRestarts, DefaultMaxBackoffDuration, DefaultMaxRestarts)
}

// backoffCount is floor(log2(ceil(max / CrashBackoffMinDuration))), 0 below the minimum.
func backoffCount(max time.Duration) int {
	if max <= CrashBackoffMinDuration {
		return 0
	}
	n := uint64((max + CrashBackoffMinDuration - 1) / CrashBackoffMinDuration)
	return bits.Len64(n) - 1
}

// OrDefault returns c, or Diego's defaults when c is the zero value.
func (c RestartCalculator) OrDefault() RestartCalculator {
	if c == (RestartCalculator{}) {
		return defaultRestart
	}
	return c
}

// Validate applies Diego's rule (the backoff cap may not be below CrashBackoffMinDuration)
// and bounds every figure, naming the field that is wrong.
func (c RestartCalculator) Validate() error {
	switch {
	case c.MaxBackoffDuration < CrashBackoffMinDuration:
		return &ValidationError{Field: "max_backoff_duration", Problem: fmt.Sprintf("must be >= %v, got %v", CrashBackoffMinDuration, c.MaxBackoffDuration)}
	case c.MaxBackoffDuration > maxBackoffSetting:
		return &ValidationError{Field: "max_backoff_duration", Problem: fmt.Sprintf("must be <= %v, got %v", maxBackoffSetting, c.MaxBackoffDuration)}
	case c.ImmediateRestarts < 0 || c.ImmediateRestarts > maxRestartSetting:
		return &ValidationError{Field: "immediate_restarts", Problem: fmt.Sprintf("must be in [0, %d], got %d", maxRestartSetting, c.ImmediateRestarts)}
	case c.MaxRestarts < 0 || c.MaxRestarts > maxRestartSetting:
		return &ValidationError{Field: "max_restarts", Problem: fmt.Sprintf("must be in [0, %d], got %d", maxRestartSetting, c.MaxRestarts)}
	case c.MaxBackoffCount != backoffCount(c.MaxBackoffDuration):
		return &ValidationError{Field: "max_backoff_count", Problem: fmt.Sprintf("must be %d for a %v cap (use NewRestartCalculator), got %d", backoffCount(c.MaxBackoffDuration), c.MaxBackoffDuration, c.MaxBackoffCount)}
	}
	return nil
}

// ShouldRestartImmediately reports whether a crash count (after the increment) goes
// straight back to UNCLAIMED and is auctioned at once.
func (c RestartCalculator) ShouldRestartImmediately(crashCount int) bool {
	return crashCount < c.ImmediateRestarts
}

// Delay is how long after the crash (since) a CRASHED instance with this crash count
// waits before convergence restarts it; ok is false when it is never restarted.
func (c RestartCalculator) Delay(crashCount int) (time.Duration, bool) {
	switch {
	case crashCount < c.ImmediateRestarts:
		return 0, true
	case crashCount >= c.MaxRestarts:
		return 0, false
	}
	exp := min(crashCount-c.ImmediateRestarts, c.MaxBackoffCount)
	return min(CrashBackoffMinDuration<<exp, c.MaxBackoffDuration), true
}

// ShouldRestart reports whether an instance that crashed at since with the given count
// is restarted at now: now >= since + Delay(count) (Diego: ShouldRestart(now, crashedAt,
// crashCount)).
func (c RestartCalculator) ShouldRestart(now, since time.Duration, crashCount int) bool {
	d, ok := c.Delay(crashCount)
	return ok && now >= since+d
}

// defaultRestart is Diego's default policy, used by the package-level functions.
var defaultRestart = DefaultRestartCalculator()

// ShouldRestartImmediately is DefaultRestartCalculator().ShouldRestartImmediately.
func ShouldRestartImmediately(crashCount int) bool {
	return defaultRestart.ShouldRestartImmediately(crashCount)
}

// RestartDelay is DefaultRestartCalculator().Delay:
//
//	c:     0..2  3    4    5   6   7   8..199  >=200
//	delay: 0     30s  60s  2m  4m  8m  16m     never
func RestartDelay(crashCount int) (time.Duration, bool) { return defaultRestart.Delay(crashCount) }

// ShouldRestartCrash is DefaultRestartCalculator().ShouldRestart.
func ShouldRestartCrash(now, since time.Duration, crashCount int) bool {
	return defaultRestart.ShouldRestart(now, since, crashCount)
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
