package auction

import (
	"fmt"
	"math"

	"github.com/diegolab/diegolab/model"
)

// Settings are the auctioneer's knobs (DIEGO.md §0 and §1.4; `[auction]` in scenarios).
type Settings struct {
	StartingContainerWeight float64 `json:"starting_container_weight"` // 0.25
	BinPackFirstFitWeight   float64 `json:"bin_pack_first_fit_weight"` // 0
	MaxStartingContainers   int     `json:"max_starting_containers"`   // 0 = unlimited
	ProxyMemoryMB           int     `json:"proxy_memory_mb"`           // 0
}

// DefaultSettings are Diego's defaults (diego-release auctioneer job spec).
func DefaultSettings() Settings {
	return Settings{StartingContainerWeight: 0.25}
}

// Validate rejects weights that are negative or not finite (the exact index relies on
// every score term being non-negative) and negative limits.
func (s Settings) Validate() error {
	switch {
	case math.IsNaN(s.StartingContainerWeight) || math.IsInf(s.StartingContainerWeight, 0) || s.StartingContainerWeight < 0:
		return &model.ValidationError{Field: "starting_container_weight", Problem: fmt.Sprintf("must be a finite number >= 0, got %v", s.StartingContainerWeight)}
	case math.IsNaN(s.BinPackFirstFitWeight) || math.IsInf(s.BinPackFirstFitWeight, 0) || s.BinPackFirstFitWeight < 0:
		return &model.ValidationError{Field: "bin_pack_first_fit_weight", Problem: fmt.Sprintf("must be a finite number >= 0, got %v", s.BinPackFirstFitWeight)}
	case s.MaxStartingContainers < 0:
		return &model.ValidationError{Field: "max_starting_containers", Problem: fmt.Sprintf("must be >= 0, got %d", s.MaxStartingContainers)}
	case s.ProxyMemoryMB < 0:
		return &model.ValidationError{Field: "proxy_memory_mb", Problem: fmt.Sprintf("must be >= 0, got %d", s.ProxyMemoryMB)}
	}
	return nil
}
