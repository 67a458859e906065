package model

import (
	"fmt"
	"strings"
)

// DefaultContainers is the number of containers a cell advertises by default: garden's
// max_containers (250) minus one (DIEGO.md §6.1).
const DefaultContainers = 249

// Cell is one cell as the auctioneer sees it in its /state reply (DIEGO.md §6.2): where it
// is, what it has, what it can run. The work on it is kept by the auction's state.
type Cell struct {
	ID    string `json:"id"`
	Zone  string `json:"zone"`
	Index int    `json:"index"`

	Total     Resources `json:"total"`
	Available Resources `json:"available"`

	// RootFSProviders lists "preloaded:NAME" stacks and arbitrary schemes such as "docker".
	RootFSProviders       []string `json:"rootfs_providers"`
	PlacementTags         []string `json:"placement_tags"`
	OptionalPlacementTags []string `json:"optional_placement_tags"`
	VolumeDrivers         []string `json:"volume_drivers"`

	StartingContainers int  `json:"starting_containers"`
	Evacuating         bool `json:"evacuating"`
	// ProxyMemoryMB is added to every LRP's memory for the fit check and the score
	// (containers.proxy.additional_memory_allocation_mb; 0 when the proxy is off).
	ProxyMemoryMB int `json:"proxy_memory_mb,omitempty"`
	// Compute is the cell's CPU and GPUs (nil: Diego's cell, which accounts neither).
	Compute *CellCompute `json:"compute,omitempty"`
}

// Validate checks the cell's own consistency and names the offending field.
func (c *Cell) Validate() error {
	if strings.TrimSpace(c.ID) == "" {
		return &ValidationError{Field: "id", Problem: "must not be empty"}
	}
	if err := c.Total.Validate("total"); err != nil {
		return err
	}
	if err := c.Available.Validate("available"); err != nil {
		return err
	}
	if c.Available.MemoryMB > c.Total.MemoryMB {
		return &ValidationError{Field: "available.memory_mb", Problem: fmt.Sprintf("%d exceeds total %d", c.Available.MemoryMB, c.Total.MemoryMB)}
	}
	if c.Available.DiskMB > c.Total.DiskMB {
		return &ValidationError{Field: "available.disk_mb", Problem: fmt.Sprintf("%d exceeds total %d", c.Available.DiskMB, c.Total.DiskMB)}
	}
	if c.Available.Containers > c.Total.Containers {
		return &ValidationError{Field: "available.containers", Problem: fmt.Sprintf("%d exceeds total %d", c.Available.Containers, c.Total.Containers)}
	}
	if c.Index < 0 {
		return &ValidationError{Field: "index", Problem: fmt.Sprintf("must be >= 0, got %d", c.Index)}
	}
	if c.StartingContainers < 0 {
		return &ValidationError{Field: "starting_containers", Problem: fmt.Sprintf("must be >= 0, got %d", c.StartingContainers)}
	}
	if c.ProxyMemoryMB < 0 {
		return &ValidationError{Field: "proxy_memory_mb", Problem: fmt.Sprintf("must be >= 0, got %d", c.ProxyMemoryMB)}
	}
	return c.Compute.Validate("compute")
}

// PreloadedRootFS returns the rootfs URL of a preloaded stack: "preloaded:NAME".
func PreloadedRootFS(stack string) string { return "preloaded:" + stack }
