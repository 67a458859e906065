package stage

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/diegolab/diegolab/model"
)

// State is where one staging is.
type State uint8

const (
	Staging State = iota + 1
	Staged
	Failed
	Cancelled
)

func (s State) String() string {
	switch s {
	case Staging:
		return "STAGING"
	case Staged:
		return "STAGED"
	case Failed:
		return "FAILED"
	case Cancelled:
		return "CANCELLED"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Result is the staging task's result file (the lifecycle's output metadata): what
// the builder resolved and produced. The driver writes it with EncodeResult into
// model.Task.Result when the task completes successfully.
type Result struct {
	// Digest: for docker, the digest the tag resolved to at staging (empty when the
	// cache is off: nothing is pinned); for buildpack, the droplet's checksum.
	Digest string `json:"digest,omitempty"`
	// CachedImage: the image's name in the private registry (cache on).
	CachedImage string `json:"cached_image,omitempty"`
}

// EncodeResult renders r as the task's result text.
func EncodeResult(r Result) string {
	b, _ := json.Marshal(r) // a struct of strings always marshals
	return string(b)
}

// Record is one staging as the stager tracks it.
type Record struct {
	Request     Request
	State       State
	RequestedAt time.Duration
	CompletedAt time.Duration
	Droplet     *Droplet
	Failure     *Failure
	cancel      bool
}

// Outcome is what a completed staging means for the app.
type Outcome struct {
	StagingGUID string
	// Desire is the DesiredLRP to create (success only): the nsync step.
	Desire *model.DesiredLRP
	// Droplet is the staged droplet (success only).
	Droplet *Droplet
	// Failure is set when staging failed or was cancelled.
	Failure *Failure
	// Duration is from Stage to completion.
	Duration time.Duration
}

// Stager follows stagings from request to outcome (the stager / CC side of
// DIEGO.md §7.1). Not safe for concurrent use.
type Stager struct {
	recs map[string]*Record
}

// NewStager returns an empty stager.
func NewStager() *Stager { return &Stager{recs: map[string]*Record{}} }

// Stage records a staging request and returns the Task to desire. A guid already
// staging is refused with *model.ExistsError; a finished one may be staged again
// (a restage).
func (s *Stager) Stage(now time.Duration, req Request) (model.Task, error) {
	t, err := TaskFor(&req)
	if err != nil {
		return model.Task{}, err
	}
	if r, ok := s.recs[req.StagingGUID]; ok && r.State == Staging {
		return model.Task{}, &model.ExistsError{Kind: "staging", Key: req.StagingGUID}
	}
	t.CreatedAt, t.UpdatedAt = now, now
	s.recs[req.StagingGUID] = &Record{Request: req, State: Staging, RequestedAt: now}
	return t, nil
}

// Cancel marks a staging as stopped by the user; the driver then cancels its task
// (Diego: stop staging = CancelTask) and the task's completion reports Cancelled.
func (s *Stager) Cancel(now time.Duration, guid string) error {
	r, ok := s.recs[guid]
	if !ok {
		return &model.NotFoundError{Kind: "staging", Key: guid}
	}
	if r.State != Staging {
		return &model.TransitionError{Kind: "staging", Key: guid, From: r.State.String(), To: Cancelled.String()}
	}
	r.cancel = true
	return nil
}

// Completed takes the staging task's completion callback and returns the outcome: on
// success the droplet and the DesiredLRP to create; on failure the sanitized error.
func (s *Stager) Completed(now time.Duration, t model.Task) (Outcome, error) {
	r, ok := s.recs[t.GUID]
	if !ok {
		return Outcome{}, &model.NotFoundError{Kind: "staging", Key: t.GUID}
	}
	if r.State != Staging {
		return Outcome{}, &model.TransitionError{Kind: "staging", Key: t.GUID, From: r.State.String(), To: "COMPLETED", Reason: "already completed"}
	}
	if t.State != model.TaskCompleted && t.State != model.TaskResolving {
		return Outcome{}, &model.TransitionError{Kind: "staging", Key: t.GUID, From: r.State.String(), To: "COMPLETED", Reason: "task is " + t.State.String()}
	}
	r.CompletedAt = now
	out := Outcome{StagingGUID: t.GUID, Duration: now - r.RequestedAt}
	if t.Failed {
		f := Sanitize(t.FailureReason)
		r.State = Failed
		if r.cancel {
			f = Failure{ID: ErrStagingCancelled, Message: "staging cancelled", Reason: t.FailureReason}
			r.State = Cancelled
		}
		r.Failure = &f
		out.Failure = &f
		return out, nil
	}
	var res Result
	if t.Result != "" {
		if err := json.Unmarshal([]byte(t.Result), &res); err != nil {
			f := Failure{ID: ErrStagingError, Message: "staging failed", Reason: "malformed staging result: " + err.Error()}
			r.State, r.Failure, out.Failure = Failed, &f, &f
			return out, nil
		}
	}
	req := &r.Request
	d := &Droplet{AppGUID: req.App.ProcessGUID, Lifecycle: req.Lifecycle, StagedAt: now, Digest: res.Digest}
	app := req.App
	switch req.Lifecycle {
	case Docker:
		d.Image = req.Image
		if req.Cache {
			if res.Digest == "" || res.CachedImage == "" {
				f := Failure{ID: ErrStagingError, Message: "staging failed", Reason: "docker cache: staging result lacks the digest or cached image"}
				r.State, r.Failure, out.Failure = Failed, &f, &f
				return out, nil
			}
			// Credentials were used by the staging task and are not kept.
			d.Cached, d.CachedImage = true, res.CachedImage
			app.RootFS = "docker:///" + res.CachedImage
		} else {
			d.Credentials = req.Credentials
			app.RootFS = "docker:///" + req.Image.String()
		}
	case Buildpack:
		app.RootFS = model.PreloadedRootFS(stackOr(req.Stack))
	}
	r.State, r.Droplet = Staged, d
	out.Droplet, out.Desire = d, &app
	return out, nil
}

func stackOr(s string) string {
	if s == "" {
		return DefaultDockerStack
	}
	return s
}

// Get returns the record of a staging (a copy).
func (s *Stager) Get(guid string) (Record, bool) {
	r, ok := s.recs[guid]
	if !ok {
		return Record{}, false
	}
	return *r, true
}

// Active returns the guids still staging, sorted.
func (s *Stager) Active() []string {
	var out []string
	for g, r := range s.recs {
		if r.State == Staging {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

// TimedOut reports whether a staging that started running at startedAt has exceeded
// its timeout at now (the executor's Timeout action around the staging steps).
func (s *Stager) TimedOut(guid string, startedAt, now time.Duration) bool {
	r, ok := s.recs[guid]
	return ok && now-startedAt >= r.Request.timeout()
}

// Timeout returns the staging timeout of a request (DefaultTimeout when unset).
func (r *Request) TimeoutOrDefault() time.Duration { return r.timeout() }
