//go:build !linux

package hugepages

// Advisor does nothing outside Linux.
type Advisor struct{}

// NewAdvisor returns an Advisor that does nothing.
func NewAdvisor() *Advisor { return &Advisor{} }

// Supported is false outside Linux.
func Supported() bool { return false }

// Advise does nothing outside Linux.
func (a *Advisor) Advise() (int64, error) { return 0, nil }

// Prefault does nothing outside Linux.
func Prefault(n int) error { return nil }
