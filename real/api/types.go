package api

import (
	"github.com/diegolab/diegolab/model/stage"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Rootfs is the one stack real cells offer: the busybox stack of real/stack.
const Rootfs = "preloaded:busybox"

// Domains of real mode's LRPs and tasks.
const (
	AppsDomain    = "cf-apps"
	TasksDomain   = "cf-tasks"
	StagingDomain = stage.Domain // the staging lifecycle's domain (model/stage)
)

// Error is every non-2xx reply body.
type Error struct {
	Message string `json:"error"`
	// Status is the HTTP status (set by the client, not sent).
	Status int `json:"-"`
	// RetryAfter is a 429's Retry-After (set by the client).
	RetryAfter time.Duration `json:"-"`
	// Passive: the reply came from a passive BBS (ActiveHeader), which named the
	// active one in Active ("" when none holds the lock right now).
	Passive bool   `json:"-"`
	Active  string `json:"-"`
}

func (e *Error) Error() string { return e.Message }

// Presence is what a rep heartbeats (Locket's CellPresence).
type Presence struct {
	CellID          string          `json:"cell_id"`
	Zone            string          `json:"zone"`
	Index           int             `json:"index"`
	RepURL          string          `json:"rep_url"`
	Capacity        model.Resources `json:"capacity"`
	RootFSProviders []string        `json:"rootfs_providers"`
}

// LRPReport is a rep's report about one instance (claim, start, crash, remove).
type LRPReport struct {
	Key      model.ActualLRPKey `json:"key"`
	Instance model.InstanceKey  `json:"instance"`
	Address  string             `json:"address,omitempty"`
	Reason   string             `json:"reason,omitempty"`
}

// TaskReport is a rep's report about a task (start, complete).
type TaskReport struct {
	TaskGUID string `json:"task_guid"`
	CellID   string `json:"cell_id"`
	Failed   bool   `json:"failed,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Result   string `json:"result,omitempty"`
}

// EvacuateReply answers an evacuating rep's report about an instance: whether the cell
// keeps its container (Diego's keep_container), and the BBS's error if the report was
// refused or failed (the answer stands all the same).
type EvacuateReply struct {
	KeepContainer bool   `json:"keep_container"`
	Error         string `json:"error,omitempty"`
}

// StartTaskReply says whether the rep may run the task.
type StartTaskReply struct {
	Start bool `json:"start"`
}

// CellState is the rep's GET /state reply (rep.CellState).
type CellState struct {
	CellID          string          `json:"cell_id"`
	Zone            string          `json:"zone"`
	Index           int             `json:"index"`
	Total           model.Resources `json:"total"`
	Available       model.Resources `json:"available"`
	RootFSProviders []string        `json:"rootfs_providers"`
	LRPs            []CellLRP       `json:"lrps"`
	Tasks           []CellTask      `json:"tasks"`
	Starting        int             `json:"starting_containers"`
	Evacuating      bool            `json:"evacuating"`
}

// CellLRP is one LRP container on a cell.
type CellLRP struct {
	ProcessGUID  string         `json:"process_guid"`
	Index        int            `json:"index"`
	InstanceGUID string         `json:"instance_guid"`
	Resource     model.Resource `json:"resource"`
	// State is RESERVED, CREATED, RUNNING or COMPLETED (the container's state).
	State   string `json:"state"`
	Address string `json:"address,omitempty"`
}

// CellTask is one task container on a cell.
type CellTask struct {
	TaskGUID string         `json:"task_guid"`
	Resource model.Resource `json:"resource"`
	State    string         `json:"state"`
}

// Work is what the auctioneer sends a winning cell (POST /work).
type Work struct {
	LRPs  []WorkLRP  `json:"lrps"`
	Tasks []WorkTask `json:"tasks"`
}

// WorkLRP is one instance to run.
type WorkLRP struct {
	ProcessGUID  string         `json:"process_guid"`
	Index        int            `json:"index"`
	Domain       string         `json:"domain"`
	InstanceGUID string         `json:"instance_guid"`
	Resource     model.Resource `json:"resource"`
}

// WorkTask is one task to run.
type WorkTask struct {
	TaskGUID string         `json:"task_guid"`
	Domain   string         `json:"domain"`
	Resource model.Resource `json:"resource"`
}

// StopRequest asks a rep to stop one instance (POST /stop).
type StopRequest struct {
	Key      model.ActualLRPKey `json:"key"`
	Instance model.InstanceKey  `json:"instance"`
}

// CancelRequest asks a rep to cancel a task (POST /cancel).
type CancelRequest struct {
	TaskGUID string `json:"task_guid"`
}

// Run-info kinds.
const (
	KindLRP     = "lrp"
	KindTask    = "task"
	KindStaging = "staging"
	// KindDockerStaging resolves a Docker image (and copies it into the cache).
	KindDockerStaging = "docker-staging"
)

// RunInfo is what a rep needs to run an LRP instance or a task beyond the
// scheduling record: the droplet, the command, ports, and for staging the package.
type RunInfo struct {
	Kind         string        `json:"kind"`
	DropletSHA   string        `json:"droplet_sha256,omitempty"`
	Command      string        `json:"command,omitempty"`
	Ports        []int         `json:"ports,omitempty"`
	Env          []string      `json:"env,omitempty"`
	StartTimeout time.Duration `json:"start_timeout,omitempty"`
	// App is the app the work belongs to (its log stream).
	App string `json:"app,omitempty"`
	// HealthCheck is the LRP's check (StartTimeout above wins over its own).
	HealthCheck HealthCheck `json:"health_check,omitempty"`
	// Staging only.
	Package   string `json:"package_sha256,omitempty"`
	Buildpack string `json:"buildpack,omitempty"`
	// Docker images (see docker.go): what the cell pulls and runs.
	Docker *DockerRun `json:"docker,omitempty"`
}

// File is one file of an app's package.
type File struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Mode   uint32 `json:"mode"`
}

// StagingResult is the result of a successful staging task.
type StagingResult struct {
	DropletSHA   string `json:"droplet_sha256"`
	StartCommand string `json:"start_command"`
	// Docker is a Docker staging's result (no droplet).
	Docker *DockerStaged `json:"docker,omitempty"`
}

// BlobsMissing asks which blobs the blobstore lacks.
type BlobsMissing struct {
	SHA256 []string `json:"sha256"`
}

// PushRequest creates or updates an app and stages it.
type PushRequest struct {
	Files     []File `json:"files"`
	Buildpack string `json:"buildpack"`
	Command   string `json:"command,omitempty"`
	Instances int    `json:"instances"`
	MemoryMB  int    `json:"memory_mb"`
	DiskMB    int    `json:"disk_mb"`
	// Routes are extra hosts (besides NAME.localhost) the router sends to the app.
	Routes []string `json:"routes,omitempty"`
	// HealthCheck is the instances' check (port by default).
	HealthCheck HealthCheck `json:"health_check,omitempty"`
	// Drains are syslog://127.0.0.1:PORT URLs the log service forwards lines to.
	Drains []string `json:"drains,omitempty"`
	// Docker, when set, pushes a Docker image instead of files (Files and
	// Buildpack empty).
	Docker *DockerPush `json:"docker,omitempty"`
}

// App states.
const (
	AppStaging       = "STAGING"
	AppStagingFailed = "STAGING_FAILED"
	AppStarted       = "STARTED"
	AppStopped       = "STOPPED"
)

// App is an app as the CLI sees it.
type App struct {
	Name         string      `json:"name"`
	State        string      `json:"state"`
	Version      int         `json:"version"`
	ProcessGUID  string      `json:"process_guid,omitempty"`
	Instances    int         `json:"instances"`
	MemoryMB     int         `json:"memory_mb"`
	DiskMB       int         `json:"disk_mb"`
	Buildpack    string      `json:"buildpack"`
	Command      string      `json:"command,omitempty"`
	DropletSHA   string      `json:"droplet_sha256,omitempty"`
	StagingTask  string      `json:"staging_task,omitempty"`
	StagingError string      `json:"staging_error,omitempty"`
	Package      string      `json:"package_sha256,omitempty"`
	Routes       []string    `json:"routes,omitempty"`
	HealthCheck  HealthCheck `json:"health_check,omitempty"`
	Drains       []string    `json:"drains,omitempty"`
	// Docker describes a Docker app (never its password).
	Docker *DockerApp `json:"docker,omitempty"`
	// Running counts RUNNING ORDINARY instances (lists only).
	Running int `json:"running"`
}

// Instance is one instance row of `app NAME`.
type Instance struct {
	Index          int     `json:"index"`
	State          string  `json:"state"`
	Presence       string  `json:"presence"`
	CellID         string  `json:"cell_id,omitempty"`
	InstanceGUID   string  `json:"instance_guid,omitempty"`
	Address        string  `json:"address,omitempty"`
	Since          float64 `json:"since"` // seconds since the cluster started
	CrashCount     int     `json:"crash_count"`
	CrashReason    string  `json:"crash_reason,omitempty"`
	PlacementError string  `json:"placement_error,omitempty"`
	// RestartIn is, for a CRASHED instance, the seconds until its crash backoff
	// ends (Diego's restart calculator; the convergence pass after that restarts
	// it); 0 when it is due. NeverRestarts: it crashed too often (200 times).
	RestartIn     *float64 `json:"restart_in,omitempty"`
	NeverRestarts bool     `json:"never_restarts,omitempty"`
}

// AppDetail is `app NAME`.
type AppDetail struct {
	App
	InstancesDetail []Instance `json:"instances_detail"`
}

// ScaleRequest changes an app's instance count and, as `cf scale -m/-k` does, its
// memory or disk per instance (a change of either restarts the app's instances
// with the new size). Nil fields stay as they are.
type ScaleRequest struct {
	Instances *int `json:"instances,omitempty"`
	MemoryMB  *int `json:"memory_mb,omitempty"`
	DiskMB    *int `json:"disk_mb,omitempty"`
}

// TaskRequest runs a one-off command in an app's droplet.
type TaskRequest struct {
	Command  string `json:"command"`
	MemoryMB int    `json:"memory_mb"`
	DiskMB   int    `json:"disk_mb"`
}

// TaskInfo is a task as the CLI sees it.
type TaskInfo struct {
	GUID          string `json:"task_guid"`
	App           string `json:"app,omitempty"`
	Command       string `json:"command,omitempty"`
	State         string `json:"state"`
	CellID        string `json:"cell_id,omitempty"`
	Failed        bool   `json:"failed"`
	FailureReason string `json:"failure_reason,omitempty"`
	Result        string `json:"result,omitempty"`
	// CompletedAt is when it completed (seconds since the cluster started); a
	// completed task is listed for 2 minutes (Diego's expire_completed_task_duration).
	CompletedAt float64 `json:"completed_at,omitempty"`
}

// CellInfo is one line of `cells`.
type CellInfo struct {
	Presence
	Present bool `json:"present"`
	// Used is what the cell's instances (not CRASHED) and running tasks reserve,
	// as the BBS knows them; free = Capacity - Used.
	Used model.Resources `json:"used"`
	// LastSeen is seconds since the cluster started.
	LastSeen float64 `json:"last_seen"`
}

// Health is GET /v1/health.
type Health struct {
	Now   float64 `json:"now"`
	Cells int     `json:"cells"`
}
