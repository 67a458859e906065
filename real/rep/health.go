package rep

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// DefaultCheckInterval is the liveness check period when neither the app nor the
// rep's configuration sets one (Cloud Foundry's health-check interval, 30 s).
const DefaultCheckInterval = 30 * time.Second

// startPoll is how often the start (readiness) check runs until it first passes.
const startPoll = 50 * time.Millisecond

// checkTimeout bounds one http check (Diego's invocation timeout, 1 s).
const checkTimeout = time.Second

// checker runs one health check; nil means passing.
type checker func(ctx context.Context) error

var checkClient = &http.Client{Timeout: checkTimeout, Transport: &http.Transport{DisableKeepAlives: true}}

// checkerFor builds the instance's check (DIEGO.md §10):
//   - port (default): the app listens on its port: a LISTEN socket on appPort in the
//     container's network namespace, which is exactly when a TCP connect succeeds;
//   - process: the start command is alive (its exit is watched separately, so the
//     check itself always passes);
//   - http: GET path (default /) on the app's port answers 200 within 1 s.
func checkerFor(hc api.HealthCheck, ct Container) checker {
	switch hc.Type {
	case api.HealthProcess:
		return func(context.Context) error { return nil }
	case api.HealthHTTP:
		path := hc.Path
		if path == "" {
			path = "/"
		}
		return func(ctx context.Context) error {
			addr, err := ct.HostAddr(portOf(ct))
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
			if err != nil {
				return err
			}
			resp, err := checkClient.Do(req)
			if err != nil {
				return fmt.Errorf("Failed to make HTTP request to '%s' on port %d: %v", path, portOf(ct), err)
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("Failed to make HTTP request to '%s' on port %d: received status code %d", path, portOf(ct), resp.StatusCode)
			}
			return nil
		}
	default:
		return func(context.Context) error {
			if pid := ct.Info().Pid; pid > 0 && Listening(pid, portOf(ct)) {
				return nil
			}
			return fmt.Errorf("Failed to make TCP connection to port %d: connection refused", portOf(ct))
		}
	}
}

// waitHealthy runs check every startPoll until it passes (""), the container exits,
// the rep stops, or timeout passes; it returns the last failure otherwise.
func (r *Rep) waitHealthy(ct Container, check checker, timeout time.Duration) (bool, string) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(startPoll)
	defer tick.Stop()
	last := "no check ran"
	for {
		ctx, cancel := context.WithTimeout(r.ctx, checkTimeout)
		err := check(ctx)
		cancel()
		if err == nil {
			return true, ""
		}
		last = err.Error()
		select {
		case <-ct.Exited():
			return false, last
		case <-deadline.C:
			return false, last
		case <-r.ctx.Done():
			return false, last
		case <-tick.C:
		}
	}
}
