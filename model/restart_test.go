package model

import (
	"testing"
	"time"
)

func TestRestartVectors(t *testing.T) {
	// The exact table of DIEGO.md §5 (Diego models/actual_lrp_test.go): 30s x 2^min(c-3, 5),
	// capped at 16m; never from 200.
	tests := []struct {
		count     int
		immediate bool
		delay     time.Duration
		never     bool
	}{
		{count: 0, immediate: true},
		{count: 1, immediate: true},
		{count: 2, immediate: true},
		{count: 3, delay: 30 * time.Second},   // 30s x 2^0
		{count: 4, delay: 60 * time.Second},   // 30s x 2^1
		{count: 5, delay: 2 * time.Minute},    // 30s x 2^2
		{count: 6, delay: 4 * time.Minute},    // 30s x 2^3
		{count: 7, delay: 8 * time.Minute},    // 30s x 2^4
		{count: 8, delay: 16 * time.Minute},   // 30s x 2^5 = 16m (exponent capped at 5)
		{count: 9, delay: 16 * time.Minute},   // exponent stays 5
		{count: 199, delay: 16 * time.Minute}, // last restartable count
		{count: 200, never: true},
		{count: 201, never: true},
	}
	const since = 1000 * time.Second
	for _, tc := range tests {
		t.Run("", func(t *testing.T) {
			if got := ShouldRestartImmediately(tc.count); got != tc.immediate {
				t.Errorf("ShouldRestartImmediately(%d) = %v, want %v", tc.count, got, tc.immediate)
			}
			d, ok := RestartDelay(tc.count)
			if ok == tc.never || d != tc.delay {
				t.Errorf("RestartDelay(%d) = %v, %v; want %v, %v", tc.count, d, ok, tc.delay, !tc.never)
			}
			if tc.never {
				if ShouldRestartCrash(since+100*time.Hour, since, tc.count) {
					t.Errorf("ShouldRestartCrash(c=%d) after 100h = true, want never", tc.count)
				}
				return
			}
			if !ShouldRestartCrash(since+tc.delay, since, tc.count) {
				t.Errorf("ShouldRestartCrash(c=%d) at since+%v = false, want true", tc.count, tc.delay)
			}
			if tc.delay > 0 && ShouldRestartCrash(since+tc.delay-time.Nanosecond, since, tc.count) {
				t.Errorf("ShouldRestartCrash(c=%d) 1ns before since+%v = true, want false", tc.count, tc.delay)
			}
		})
	}
}

func TestNextCrashCount(t *testing.T) {
	tests := []struct {
		name       string
		state      ActualLRPState
		ranFor     time.Duration
		count, out int
	}{
		{"running just over 5m resets", Running, CrashResetTimeout + time.Nanosecond, 7, 1},
		{"running exactly 5m increments", Running, CrashResetTimeout, 7, 8},
		{"running 1m increments", Running, time.Minute, 2, 3},
		{"claimed for an hour increments (only RUNNING resets)", Claimed, time.Hour, 4, 5},
		{"first crash", Running, time.Second, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			since := 10 * time.Second
			if got := NextCrashCount(tc.state, since, since+tc.ranFor, tc.count); got != tc.out {
				t.Errorf("NextCrashCount = %d, want %d", got, tc.out)
			}
		})
	}
}
