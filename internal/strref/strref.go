// Package strref compares strings by reference: whether two string values are the very
// same bytes in memory. The layers that share the run's guid strings (model.GUIDs'
// blocks) use it to recognise a string they hold without a cache miss on its bytes. It
// is a speed-up only: equal strings stored apart are not the same reference, so a
// caller falls back to comparing (or looking up) the bytes when Same says no.
package strref

import "unsafe"

// Same reports whether a and b are the very same bytes (same address and length):
// equal strings, decided without reading them (equal strings elsewhere still differ).
func Same(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}
