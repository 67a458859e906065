package main

import "github.com/pkg/profile"

// startProfile starts a CPU or heap profile (github.com/pkg/profile) into the given
// directory and returns the function that stops it. Only one kind at a time: CPU wins.
func startProfile(cpuDir, memDir string) func() {
	switch {
	case cpuDir != "":
		return profile.Start(profile.CPUProfile, profile.ProfilePath(cpuDir), profile.Quiet).Stop
	case memDir != "":
		return profile.Start(profile.MemProfile, profile.MemProfileHeap, profile.ProfilePath(memDir), profile.Quiet).Stop // MemProfile sets the sampling rate; MemProfileHeap alone leaves it 0 (no samples)
	}
	return func() {}
}
