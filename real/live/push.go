package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// PushOptions are push's flags.
type PushOptions struct {
	Instances        int
	MemoryMB, DiskMB int
	Buildpack        string
	Command          string
	// Timeout bounds staging plus waiting for RUNNING (default 3 min).
	Timeout time.Duration
	// Progress receives one line per step and the staging output as it happens
	// (nil: none).
	Progress io.Writer
	// Routes are extra hosts; HealthCheck the instances' check; Drains syslog URLs.
	Routes      []string
	HealthCheck api.HealthCheck
	Drains      []string
	// NoWait returns once staging has begun, without waiting for RUNNING.
	NoWait bool
	// Docker pushes an image instead of dir's files (dir is then ignored).
	Docker *api.DockerPush
}

// Push uploads dir's files the blobstore lacks (by sha256), stages the app and
// waits until every instance is RUNNING. It fails with the staging error or with
// the placement error of an instance that could not be placed.
func Push(ctx context.Context, cl *api.Client, name, dir string, o PushOptions) (*api.AppDetail, error) {
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Minute
	}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	var files []api.File
	if o.Docker == nil {
		var err error
		if files, err = upload(ctx, cl, dir, say); err != nil {
			return nil, err
		}
	}
	req := api.PushRequest{Files: files, Buildpack: o.Buildpack, Command: o.Command, Instances: o.Instances, MemoryMB: o.MemoryMB, DiskMB: o.DiskMB,
		Routes: o.Routes, HealthCheck: o.HealthCheck, Drains: o.Drains, Docker: o.Docker}
	if o.Docker != nil {
		req.Buildpack = ""
	}
	return pushRest(ctx, cl, name, o, req, say)
}

// upload sends dir's files the blobstore lacks and returns the package's list.
func upload(ctx context.Context, cl *api.Client, dir string, say func(string, ...any)) ([]api.File, error) {
	files, paths, err := scan(dir)
	if err != nil {
		return nil, err
	}
	shas := make([]string, 0, len(files))
	for _, f := range files {
		shas = append(shas, f.SHA256)
	}
	var missing api.BlobsMissing
	if err := cl.Do(ctx, http.MethodPost, "/v1/blobs/missing", api.BlobsMissing{SHA256: shas}, &missing); err != nil {
		return nil, err
	}
	need := map[string]bool{}
	for _, s := range missing.SHA256 {
		need[s] = true
	}
	uploaded := 0
	for i, f := range files {
		if !need[f.SHA256] {
			continue
		}
		need[f.SHA256] = false
		fh, err := os.Open(paths[i])
		if err != nil {
			return nil, err
		}
		err = cl.DoRaw(ctx, http.MethodPut, "/v1/blobs/"+f.SHA256, fh, "application/octet-stream", nil)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("upload %s: %w", f.Path, err)
		}
		uploaded++
	}
	say("uploaded %d of %d files (the blobstore had the others)", uploaded, len(files))
	return files, nil
}

// pushRest stages and waits (the part of Push after the upload).
func pushRest(ctx context.Context, cl *api.Client, name string, o PushOptions, req api.PushRequest, say func(string, ...any)) (*api.AppDetail, error) {
	var app api.App
	// Follow the staging output from the current end of the app's stream, so that no
	// STG line of this push is missed.
	lctx, stopLogs := context.WithCancel(ctx)
	defer stopLogs()
	streamed := make(chan struct{})
	if o.Progress != nil {
		if st, err := LogStats(ctx, cl, name); err == nil {
			ready := make(chan struct{})
			go func() {
				defer close(streamed)
				_ = StreamLogs(lctx, cl, name, LogOptions{Follow: true, After: st.Received}, ready, func(l api.LogLine) {
					if l.Source == api.SourceStage {
						fmt.Fprintln(o.Progress, l.Format())
					}
				})
			}()
			select {
			case <-ready:
			case <-streamed:
			case <-time.After(5 * time.Second):
			}
		} else {
			close(streamed)
		}
	} else {
		close(streamed)
	}
	if err := cl.Do(ctx, http.MethodPost, "/v1/apps/"+name+"/push", req, &app); err != nil {
		return nil, err
	}
	if o.Docker != nil {
		say("staging %s (task %s, docker image %s)", name, app.StagingTask, o.Docker.Image)
	} else {
		say("staging %s (task %s, buildpack %s)", name, app.StagingTask, o.Buildpack)
	}
	if o.NoWait {
		return &api.AppDetail{App: app, InstancesDetail: []api.Instance{}}, nil
	}
	d, err := WaitRunning(ctx, cl, name, app.Version, o.Timeout)
	stopLogs()
	<-streamed
	return d, err
}

// WaitRunning polls the app until version is staged and all its instances run.
func WaitRunning(ctx context.Context, cl *api.Client, name string, version int, timeout time.Duration) (*api.AppDetail, error) {
	deadline := time.Now().Add(timeout)
	var d api.AppDetail
	for {
		d = api.AppDetail{}
		if err := cl.Do(ctx, http.MethodGet, "/v1/apps/"+name, nil, &d); err != nil {
			return nil, err
		}
		if d.Version == version || version == 0 {
			switch d.State {
			case api.AppStagingFailed:
				return &d, fmt.Errorf("staging %s failed: %s", name, d.StagingError)
			case api.AppStarted, api.AppStopped:
				want := d.Instances
				if d.State == api.AppStopped {
					want = 0
				}
				running := 0
				for _, in := range d.InstancesDetail {
					if in.Presence != "ORDINARY" {
						continue
					}
					if in.State == "RUNNING" {
						running++
					}
					if in.PlacementError != "" {
						return &d, fmt.Errorf("instance %d of %s could not be placed: %s", in.Index, name, in.PlacementError)
					}
				}
				if running == want && ordinaryCount(&d) == want {
					return &d, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return &d, fmt.Errorf("%s: not all instances RUNNING within %v (state %s, %d of %d running)", name, timeout, d.State, d.Running, d.Instances)
		}
		select {
		case <-ctx.Done():
			return &d, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ordinaryCount(d *api.AppDetail) int {
	n := 0
	for _, in := range d.InstancesDetail {
		if in.Presence == "ORDINARY" {
			n++
		}
	}
	return n
}

// scan lists dir's regular files with their sha256 and mode, sorted by path.
func scan(dir string) ([]api.File, []string, error) {
	var files []api.File
	var paths []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || !e.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		files = append(files, api.File{Path: filepath.ToSlash(rel), SHA256: hex.EncodeToString(h.Sum(nil)), Mode: uint32(info.Mode().Perm())})
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("--path %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, nil, errors.New("--path " + dir + ": no files")
	}
	return files, paths, nil
}
