package model

import "fmt"

// Resources is a cell's capacity (total or available): memory and disk in MB and a
// number of containers. Diego: rep.Resources.
type Resources struct {
	MemoryMB   int `json:"memory_mb"`
	DiskMB     int `json:"disk_mb"`
	Containers int `json:"containers"`
}

// Resource is what one piece of work (an LRP instance or a task) asks for.
// Diego: rep.Resource.
type Resource struct {
	MemoryMB int `json:"memory_mb"`
	DiskMB   int `json:"disk_mb"`
	MaxPids  int `json:"max_pids,omitempty"`
}

// Fits reports whether r fits into available: memory and disk no larger, and at least
// one container left (Diego: rep.Resources.ResourceMatch / executor canSubtract).
func (avail Resources) Fits(r Resource) bool {
	return avail.MemoryMB >= r.MemoryMB && avail.DiskMB >= r.DiskMB && avail.Containers >= 1
}

// Sub returns avail minus r and one container.
func (avail Resources) Sub(r Resource) Resources {
	return Resources{avail.MemoryMB - r.MemoryMB, avail.DiskMB - r.DiskMB, avail.Containers - 1}
}

// Add returns avail plus r and one container (a freed allocation).
func (avail Resources) Add(r Resource) Resources {
	return Resources{avail.MemoryMB + r.MemoryMB, avail.DiskMB + r.DiskMB, avail.Containers + 1}
}

// Validate checks a capacity: no negative figure.
func (avail Resources) Validate(field string) error {
	switch {
	case avail.MemoryMB < 0:
		return &ValidationError{Field: field + ".memory_mb", Problem: fmt.Sprintf("must be >= 0, got %d", avail.MemoryMB)}
	case avail.DiskMB < 0:
		return &ValidationError{Field: field + ".disk_mb", Problem: fmt.Sprintf("must be >= 0, got %d", avail.DiskMB)}
	case avail.Containers < 0:
		return &ValidationError{Field: field + ".containers", Problem: fmt.Sprintf("must be >= 0, got %d", avail.Containers)}
	}
	return nil
}

// Validate checks a work request: no negative figure.
func (r Resource) Validate(field string) error {
	switch {
	case r.MemoryMB < 0:
		return &ValidationError{Field: field + ".memory_mb", Problem: fmt.Sprintf("must be >= 0, got %d", r.MemoryMB)}
	case r.DiskMB < 0:
		return &ValidationError{Field: field + ".disk_mb", Problem: fmt.Sprintf("must be >= 0, got %d", r.DiskMB)}
	case r.MaxPids < 0:
		return &ValidationError{Field: field + ".max_pids", Problem: fmt.Sprintf("must be >= 0, got %d", r.MaxPids)}
	}
	return nil
}

// PlacementConstraint is what a cell must offer to take a piece of work: a root
// filesystem it can provide, every volume driver, and matching placement tags.
type PlacementConstraint struct {
	RootFS        string   `json:"rootfs"`
	PlacementTags []string `json:"placement_tags"`
	VolumeDrivers []string `json:"volume_drivers"`
}
