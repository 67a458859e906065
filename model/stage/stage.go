package stage

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model"
)

// Staging constants (DIEGO.md §7.1).
const (
	// Domain is the BBS domain of staging tasks.
	Domain = "cf-app-staging"
	// MinMemoryMB and MinDiskMB are CC's minimum_staging_memory_mb / _disk_mb.
	MinMemoryMB = 1024
	MinDiskMB   = 4096
	// DefaultTimeout is the stager's default staging timeout.
	DefaultTimeout = 15 * time.Minute
	// CPUWeight and LogSource are the staging task's cpu weight and log source.
	CPUWeight = 50
	LogSource = "STG"
	// DefaultDockerStack is the stack the docker staging task runs on.
	DefaultDockerStack = "cflinuxfs4"
)

// Buildpack lifecycle exit codes (buildpack_app_lifecycle) and the reasons a failed
// builder leaves on its task.
const (
	DetectFailCode  = 222
	CompileFailCode = 223
	ReleaseFailCode = 224
)

// Failure reasons the simulated lifecycle and executor produce.
const (
	ReasonTimedOut          = "staging timed out" // executor Timeout action
	ReasonRegistryDown      = "failed to fetch image metadata: registry unavailable"
	ReasonUnauthorized      = "failed to fetch image metadata: unauthorized: authentication required"
	ReasonUnknownImage      = "failed to fetch image metadata: manifest unknown"
	ReasonImageTooLarge     = "failed to cache image: image larger than the staging container's disk"
	ReasonDownloadFailed    = "failed to download app package"
	ReasonUploadFailed      = "failed to upload droplet"
	ReasonInsufficientStart = "insufficient resources"
)

// ExitReason is the failure reason of a builder that exited with code.
func ExitReason(code int) string { return "Exited with status " + strconv.Itoa(code) }

// CC error ids (diego_errors / cc_messages).
const (
	ErrBuildpackDetectFailed  = "BUILDPACK_DETECT_FAILED"
	ErrBuildpackCompileFailed = "BUILDPACK_COMPILE_FAILED"
	ErrBuildpackReleaseFailed = "BUILDPACK_RELEASE_FAILED"
	ErrInsufficientResources  = "INSUFFICIENT_RESOURCES"
	ErrNoCompatibleCell       = "NO_COMPATIBLE_CELL"
	ErrCellCommunication      = "CELL_COMMUNICATION_ERROR"
	ErrStagingError           = "STAGING_ERROR"
	// ErrStagingCancelled is diegolab's id for a staging stopped by Cancel (CC does not
	// report a stopped staging as an error; it is counted apart).
	ErrStagingCancelled = "STAGING_CANCELLED"
)

// Failure is a failed staging as CC sees it: the sanitized id and message, and the
// task's raw failure reason.
type Failure struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
}

func (f *Failure) Error() string { return f.ID + ": " + f.Message + " (" + f.Reason + ")" }

// Sanitize applies the stager's SanitizeErrorMessage (DIEGO.md §7.1):
//
//	suffix detect / compile / release exit code -> BUILDPACK_*_FAILED, "staging failed"
//	prefix "insufficient resources"             -> INSUFFICIENT_RESOURCES (message kept)
//	prefix "found no compatible cell"           -> NO_COMPATIBLE_CELL (message kept)
//	exactly "unable to communicate to compatible cells" -> CELL_COMMUNICATION_ERROR
//	anything else                               -> STAGING_ERROR, "staging failed"
func Sanitize(reason string) Failure {
	const failed = "staging failed"
	f := Failure{ID: ErrStagingError, Message: failed, Reason: reason}
	switch {
	case strings.HasSuffix(reason, strconv.Itoa(DetectFailCode)):
		f.ID = ErrBuildpackDetectFailed
	case strings.HasSuffix(reason, strconv.Itoa(CompileFailCode)):
		f.ID = ErrBuildpackCompileFailed
	case strings.HasSuffix(reason, strconv.Itoa(ReleaseFailCode)):
		f.ID = ErrBuildpackReleaseFailed
	case strings.HasPrefix(reason, "insufficient resources"):
		f.ID, f.Message = ErrInsufficientResources, reason
	case strings.HasPrefix(reason, "found no compatible cell"):
		f.ID, f.Message = ErrNoCompatibleCell, reason
	case reason == "unable to communicate to compatible cells":
		f.ID, f.Message = ErrCellCommunication, reason
	}
	return f
}

// Lifecycle says how an app is staged.
type Lifecycle uint8

const (
	Buildpack Lifecycle = iota + 1
	Docker
)

func (l Lifecycle) String() string {
	switch l {
	case Buildpack:
		return "buildpack"
	case Docker:
		return "docker"
	}
	return "Lifecycle(" + strconv.Itoa(int(l)) + ")"
}

// ImageRef is a Docker image reference "repo:tag" (or "repo@digest").
type ImageRef struct {
	Repo   string `json:"repo"`
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
}

func (r ImageRef) String() string {
	if r.Digest != "" {
		return r.Repo + "@" + r.Digest
	}
	return r.Repo + ":" + r.Tag
}

// ParseImageRef parses "repo", "repo:tag" or "repo@sha256:...". The tag defaults to
// "latest". A registry host with a port ("host:5000/repo:tag") is accepted: the tag is
// what follows the last ':' after the last '/'.
func ParseImageRef(s string) (ImageRef, error) {
	bad := func(why string) (ImageRef, error) {
		return ImageRef{}, &model.ValidationError{Field: "docker_image", Problem: fmt.Sprintf("%s, got %q (want repo:tag such as \"acme/web:1.2\")", why, s)}
	}
	if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\n") {
		return bad("must be a non-empty reference without spaces")
	}
	if repo, dig, ok := strings.Cut(s, "@"); ok {
		if repo == "" || !strings.HasPrefix(dig, "sha256:") || len(dig) <= len("sha256:") {
			return bad("a digest reference must be repo@sha256:<hex>")
		}
		return ImageRef{Repo: repo, Digest: dig}, nil
	}
	slash := strings.LastIndexByte(s, '/')
	repo, tag := s, "latest"
	if i := strings.LastIndexByte(s, ':'); i > slash {
		repo, tag = s[:i], s[i+1:]
	}
	if repo == "" || tag == "" || strings.HasSuffix(repo, "/") {
		return bad("repository and tag must not be empty")
	}
	return ImageRef{Repo: repo, Tag: tag}, nil
}

// Request asks for one app to be staged.
type Request struct {
	// StagingGUID names the staging task (letters, digits, '_' and '-').
	StagingGUID string
	// App is the DesiredLRP to create on success (the recipe nsync would build);
	// its memory and disk set the staging task's (with the minimums).
	App       model.DesiredLRP
	Lifecycle Lifecycle
	// Stack is the buildpack stack ("cflinuxfs4"); docker staging uses DefaultDockerStack
	// when empty.
	Stack     string
	Buildpack string
	// Image is the docker image reference; Credentials the user's registry
	// credentials (private images), used only during staging when Cache is set.
	Image       ImageRef
	Credentials string
	Cache       bool
	// Timeout of the staging task; 0 means DefaultTimeout.
	Timeout time.Duration
	// PlacementTags: the isolation segment, if any.
	PlacementTags []string
}

// Validate checks a request.
func (r *Request) Validate() error {
	switch r.Lifecycle {
	case Buildpack:
		if strings.TrimSpace(r.Buildpack) == "" {
			return &model.ValidationError{Field: "buildpack", Problem: "must name a buildpack for the buildpack lifecycle"}
		}
	case Docker:
		if r.Image.Repo == "" {
			return &model.ValidationError{Field: "docker_image", Problem: "must be set for the docker lifecycle"}
		}
	default:
		return &model.ValidationError{Field: "lifecycle", Problem: "must be buildpack or docker, got " + r.Lifecycle.String()}
	}
	if r.Timeout < 0 {
		return &model.ValidationError{Field: "timeout", Problem: "must be >= 0"}
	}
	return r.App.Validate()
}

// StagingMemoryMB is max(app, 1024) (CC protocol.rb).
func StagingMemoryMB(app int) int { return max(app, MinMemoryMB) }

// StagingDiskMB is max(app, 4096).
func StagingDiskMB(app int) int { return max(app, MinDiskMB) }

// TaskFor returns the staging Task of a request (DIEGO.md §7.1): domain cf-app-staging,
// memory and disk at least 1024 / 4096 MB, rootfs preloaded:<stack>, the isolation
// segment's placement tags. The timeout is the request's (see Timeout).
func TaskFor(r *Request) (model.Task, error) {
	if err := r.Validate(); err != nil {
		return model.Task{}, fmt.Errorf("stage %s: %w", r.StagingGUID, err)
	}
	stack := r.Stack
	if stack == "" {
		stack = DefaultDockerStack
	}
	t := model.Task{
		GUID:          r.StagingGUID,
		Domain:        Domain,
		State:         model.TaskPending,
		MemoryMB:      StagingMemoryMB(r.App.MemoryMB),
		DiskMB:        StagingDiskMB(r.App.DiskMB),
		RootFS:        model.PreloadedRootFS(stack),
		PlacementTags: append([]string(nil), r.PlacementTags...),
	}
	if err := t.Validate(); err != nil {
		return model.Task{}, fmt.Errorf("stage %s: %w", r.StagingGUID, err)
	}
	return t, nil
}

// Timeout is the request's staging timeout.
func (r *Request) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// Registry names where an instance pulls its image from.
type Registry uint8

const (
	// Blobstore: a buildpack droplet.
	Blobstore Registry = iota + 1
	// Public: the image's own (public) registry, by tag.
	Public
	// Private: the platform's private registry, by digest.
	Private
)

func (r Registry) String() string {
	switch r {
	case Blobstore:
		return "blobstore"
	case Public:
		return "public"
	case Private:
		return "private"
	}
	return "Registry(" + strconv.Itoa(int(r)) + ")"
}

// Droplet is what a successful staging leaves for the app's instances.
type Droplet struct {
	AppGUID   string    `json:"app_guid"`
	Lifecycle Lifecycle `json:"lifecycle"`
	// StagedAt is when staging completed.
	StagedAt time.Duration `json:"staged_at"`
	// Image is the reference the user gave (docker).
	Image ImageRef `json:"image,omitzero"`
	// Digest is the digest resolved at staging (docker, cache on): every instance runs it.
	Digest string `json:"digest,omitempty"`
	// Cached says the image was copied to the private registry as CachedImage.
	Cached      bool   `json:"cached,omitempty"`
	CachedImage string `json:"cached_image,omitempty"`
	// Credentials are kept only when instance starts need them (cache off).
	Credentials string `json:"-"`
}

// Pull is what one instance start fetches: from where, by which reference, whether the
// tag is resolved at that moment, and whether credentials are presented.
type Pull struct {
	From Registry
	// Ref is the reference pulled: the digest when pinned, else repo:tag.
	Ref ImageRef
	// ResolveAtStart: the tag is resolved now (cache off), so a moved tag gives the new
	// digest.
	ResolveAtStart bool
	// Credentials presented to the registry ("" for none).
	Credentials string
}

// Pull returns the pull plan of an instance start (DIEGO.md §7.2, §10).
func (d *Droplet) Pull() Pull {
	switch {
	case d.Lifecycle == Buildpack:
		return Pull{From: Blobstore, Ref: ImageRef{Repo: "droplets/" + d.AppGUID, Digest: d.Digest}}
	case d.Cached:
		return Pull{From: Private, Ref: ImageRef{Repo: d.CachedImage, Digest: d.Digest}}
	default:
		return Pull{From: Public, Ref: d.Image, ResolveAtStart: true, Credentials: d.Credentials}
	}
}
