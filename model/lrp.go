package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultStartTimeout is how long an instance may take to pass its first health check.
const DefaultStartTimeout = 60 * time.Second

// DesiredLRP is a long-running process the user wants N instances of (DIEGO.md §3.1).
type DesiredLRP struct {
	ProcessGUID string `json:"process_guid"`
	Domain      string `json:"domain"`
	Instances   int    `json:"instances"`

	MemoryMB int `json:"memory_mb"`
	DiskMB   int `json:"disk_mb"`
	MaxPids  int `json:"max_pids,omitempty"`

	RootFS        string   `json:"rootfs"`
	PlacementTags []string `json:"placement_tags,omitempty"`
	VolumeDrivers []string `json:"volume_drivers,omitempty"`

	Routes       []string      `json:"routes,omitempty"`
	StartTimeout time.Duration `json:"start_timeout,omitempty"`

	// MaxPerCell caps the instances of this LRP on one cell (0 = no cap). Not in Diego:
	// the Alibaba traces' max_instance_per_node, available to every algorithm.
	MaxPerCell int `json:"max_per_cell,omitempty"`

	// Compute is the CPU and GPUs each instance asks for beyond Diego's resources (nil:
	// none, as in Diego; docs/fgd.md).
	Compute *Compute `json:"compute,omitempty"`
}

// Resource is what each instance asks of a cell.
func (d *DesiredLRP) Resource() Resource {
	return Resource{MemoryMB: d.MemoryMB, DiskMB: d.DiskMB, MaxPids: d.MaxPids}
}

// Constraint is where each instance may run.
func (d *DesiredLRP) Constraint() PlacementConstraint {
	return PlacementConstraint{RootFS: d.RootFS, PlacementTags: d.PlacementTags, VolumeDrivers: d.VolumeDrivers}
}

// Validate applies the BBS's rules: a process guid and domain, a rootfs URL with a
// scheme, no negative figure.
func (d *DesiredLRP) Validate() error {
	if strings.TrimSpace(d.ProcessGUID) == "" {
		return &ValidationError{Field: "process_guid", Problem: "must not be empty"}
	}
	if strings.TrimSpace(d.Domain) == "" {
		return &ValidationError{Field: "domain", Problem: "must not be empty"}
	}
	if d.Instances < 0 {
		return &ValidationError{Field: "instances", Problem: fmt.Sprintf("must be >= 0, got %d", d.Instances)}
	}
	if err := d.Resource().Validate("resource"); err != nil {
		return err
	}
	if !strings.Contains(d.RootFS, ":") {
		return &ValidationError{Field: "rootfs", Problem: fmt.Sprintf("must be a URL with a scheme such as preloaded:cflinuxfs4, got %q", d.RootFS)}
	}
	if d.StartTimeout < 0 {
		return &ValidationError{Field: "start_timeout", Problem: "must be >= 0"}
	}
	if d.MaxPerCell < 0 {
		return &ValidationError{Field: "max_per_cell", Problem: fmt.Sprintf("must be >= 0, got %d", d.MaxPerCell)}
	}
	return d.Compute.Validate("compute")
}

// ActualLRPKey names one instance slot of a DesiredLRP.
type ActualLRPKey struct {
	ProcessGUID string `json:"process_guid"`
	Index       int    `json:"index"`
}

func (k ActualLRPKey) String() string { return k.ProcessGUID + "/" + strconv.Itoa(k.Index) }

// Less orders keys by process guid, then index: the order every sorted walk uses.
func (k ActualLRPKey) Less(o ActualLRPKey) bool {
	if k.ProcessGUID != o.ProcessGUID {
		return k.ProcessGUID < o.ProcessGUID
	}
	return k.Index < o.Index
}

// CompareActualLRPs orders rows by process guid, index, then presence: the order of a
// sorted list of actual LRPs (a Store's lists).
func CompareActualLRPs(a, b ActualLRP) int {
	if c := strings.Compare(a.ProcessGUID, b.ProcessGUID); c != 0 {
		return c
	}
	if a.Index != b.Index {
		return a.Index - b.Index
	}
	return int(a.Presence) - int(b.Presence)
}

// InstanceKey names the container that holds an instance: which instance on which cell.
// It is empty while the instance is UNCLAIMED or CRASHED.
type InstanceKey struct {
	InstanceGUID string `json:"instance_guid"`
	CellID       string `json:"cell_id"`
}

// Empty reports whether no container is attached.
func (k InstanceKey) Empty() bool { return k.InstanceGUID == "" && k.CellID == "" }

// ActualLRPState is the lifecycle state of one instance (DIEGO.md §3.2).
type ActualLRPState uint8

const (
	Unclaimed ActualLRPState = iota
	Claimed
	Running
	Crashed
)

var actualStateNames = [...]string{"UNCLAIMED", "CLAIMED", "RUNNING", "CRASHED"}

func (s ActualLRPState) String() string {
	if int(s) < len(actualStateNames) {
		return actualStateNames[s]
	}
	return "ActualLRPState(" + strconv.Itoa(int(s)) + ")"
}

// Presence says which of up to three rows of one index this is (DIEGO.md §3.2).
type Presence uint8

const (
	Ordinary Presence = iota
	Evacuating
	Suspect
)

var presenceNames = [...]string{"ORDINARY", "EVACUATING", "SUSPECT"}

func (p Presence) String() string {
	if int(p) < len(presenceNames) {
		return presenceNames[p]
	}
	return "Presence(" + strconv.Itoa(int(p)) + ")"
}

// ActualLRP is one instance of a DesiredLRP as the BBS records it.
type ActualLRP struct {
	ActualLRPKey
	Domain string `json:"domain"`
	InstanceKey
	// Address is the instance's net info (host:port) once RUNNING; real mode fills it.
	Address string `json:"address,omitempty"`

	State    ActualLRPState `json:"state"`
	Presence Presence       `json:"presence"`

	CrashCount     int           `json:"crash_count"`
	CrashReason    string        `json:"crash_reason,omitempty"`
	Since          time.Duration `json:"since"`
	PlacementError string        `json:"placement_error,omitempty"`
}

// CheckTransition applies Diego's AllowsTransitionTo table (DIEGO.md §3.2): whether the
// instance may go to state `to` with instance key `next`. "same" cells of the table
// require next to equal the current instance key.
//
//	From \ To   UNCLAIMED        CLAIMED  RUNNING  CRASHED
//	UNCLAIMED   yes              yes      yes      no
//	CLAIMED     empty key only   same     any key  same
//	RUNNING     empty key only   same     same     same
//	CRASHED     empty key only   same     same     no
func (a *ActualLRP) CheckTransition(to ActualLRPState, next InstanceKey) error {
	refuse := func(reason string) error {
		return &TransitionError{Kind: "actual_lrp", Key: a.ActualLRPKey.String(), From: a.State.String(), To: to.String(), Reason: reason}
	}
	same := next == a.InstanceKey
	switch a.State {
	case Unclaimed:
		if to == Crashed {
			return refuse("an unclaimed instance has no container to crash")
		}
		return nil
	case Claimed:
		switch to {
		case Unclaimed:
			if !next.Empty() {
				return refuse("unclaiming must clear the instance key")
			}
		case Running:
			return nil
		default:
			if !same {
				return refuse("instance key " + next.describe() + " does not match " + a.InstanceKey.describe())
			}
		}
		return nil
	case Running:
		if to == Unclaimed {
			if !next.Empty() {
				return refuse("unclaiming must clear the instance key")
			}
			return nil
		}
		if !same {
			return refuse("instance key " + next.describe() + " does not match " + a.InstanceKey.describe())
		}
		return nil
	case Crashed:
		switch to {
		case Unclaimed:
			if !next.Empty() {
				return refuse("unclaiming must clear the instance key")
			}
			return nil
		case Crashed:
			return refuse("already crashed")
		}
		if !same {
			return refuse("instance key " + next.describe() + " does not match " + a.InstanceKey.describe())
		}
		return nil
	}
	return refuse("unknown state")
}

func (k InstanceKey) describe() string {
	if k.Empty() {
		return "(empty)"
	}
	return k.InstanceGUID + "@" + k.CellID
}

// Validate checks the state invariants of DIEGO.md §3.2.
func (a *ActualLRP) Validate() error {
	if a.ProcessGUID == "" {
		return &ValidationError{Field: "process_guid", Problem: "must not be empty"}
	}
	if a.Index < 0 {
		return &ValidationError{Field: "index", Problem: fmt.Sprintf("must be >= 0, got %d", a.Index)}
	}
	switch a.State {
	case Unclaimed:
		if !a.InstanceKey.Empty() {
			return &ValidationError{Field: "instance_key", Problem: "must be empty while UNCLAIMED"}
		}
		if a.Presence != Ordinary {
			return &ValidationError{Field: "presence", Problem: "must be ORDINARY while UNCLAIMED"}
		}
	case Claimed, Running:
		if a.InstanceGUID == "" || a.CellID == "" {
			return &ValidationError{Field: "instance_key", Problem: "must be set while " + a.State.String()}
		}
		if a.PlacementError != "" {
			return &ValidationError{Field: "placement_error", Problem: "must be empty while " + a.State.String()}
		}
	case Crashed:
		if !a.InstanceKey.Empty() {
			return &ValidationError{Field: "instance_key", Problem: "must be empty while CRASHED"}
		}
		if a.PlacementError != "" {
			return &ValidationError{Field: "placement_error", Problem: "must be empty while CRASHED"}
		}
	default:
		return &ValidationError{Field: "state", Problem: "unknown state " + a.State.String()}
	}
	if a.Address != "" && a.State != Running {
		// Diego: only a RUNNING instance has net info (the simulator's RUNNING rows may
		// have none: it models no addresses).
		return &ValidationError{Field: "address", Problem: "net info must be empty while " + a.State.String()}
	}
	if a.Presence == Evacuating && a.State != Running {
		return &ValidationError{Field: "presence", Problem: "an EVACUATING instance must be RUNNING"}
	}
	if a.Presence == Suspect && a.State != Running && a.State != Claimed {
		return &ValidationError{Field: "presence", Problem: "a SUSPECT instance must be RUNNING or CLAIMED"}
	}
	return nil
}
