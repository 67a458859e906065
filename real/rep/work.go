package rep

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/diegolab/diegolab/model"
	mrep "github.com/diegolab/diegolab/model/rep"
	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/metrics"
)

// appPort is the container port an LRP listens on ($PORT) unless its Docker
// image exposes another.
const appPort = 8080

// portOf is the container's app port: its first mapped port, else appPort.
func portOf(ct Container) int {
	if ps := ct.Info().Ports; len(ps) > 0 && ps[0].ContainerPort > 0 {
		return ps[0].ContainerPort
	}
	return appPort
}

func (r *Rep) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) { api.WriteJSON(w, http.StatusOK, r.State()) })
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { api.WriteJSON(w, http.StatusOK, struct{}{}) })
	mux.HandleFunc("POST /work", r.work)
	mux.HandleFunc("POST /stop", r.stopReq)
	mux.HandleFunc("POST /cancel", r.cancelReq)
	mux.Handle("GET /metrics", metrics.Handler(r.metrics.Registry))
	return metrics.Measure(api.RequireToken(mux, r.cfg.Token), r.metrics.RequestLatency)
}

func (r *Rep) work(w http.ResponseWriter, req *http.Request) {
	var wk api.Work
	if code, err := api.Decode(w, req, &wk, 0); err != nil {
		api.WriteError(w, code, err)
		return
	}
	for i, l := range wk.LRPs {
		if l.ProcessGUID == "" || l.InstanceGUID == "" || l.Index < 0 {
			api.WriteError(w, http.StatusUnprocessableEntity, fmt.Errorf("lrps[%d]: process_guid and instance_guid must be set, index >= 0", i))
			return
		}
		if err := l.Resource.Validate(fmt.Sprintf("lrps[%d].resource", i)); err != nil {
			api.WriteError(w, http.StatusUnprocessableEntity, err)
			return
		}
	}
	for i, t := range wk.Tasks {
		if t.TaskGUID == "" {
			api.WriteError(w, http.StatusUnprocessableEntity, fmt.Errorf("tasks[%d]: task_guid must be set", i))
			return
		}
		if err := t.Resource.Validate(fmt.Sprintf("tasks[%d].resource", i)); err != nil {
			api.WriteError(w, http.StatusUnprocessableEntity, err)
			return
		}
	}
	r.mu.Lock()
	if !r.evac.Accepts() {
		r.mu.Unlock()
		// An evacuating rep returns all of a Perform's work as failed (DIEGO.md §1.5).
		api.WriteError(w, http.StatusServiceUnavailable, fmt.Errorf("cell %s is evacuating: it takes no work", r.cfg.CellID))
		return
	}
	type start struct {
		c  *lrpC
		t  *taskC
		st mrep.Step
	}
	var starts []start
	for _, l := range wk.LRPs {
		if _, dup := r.lrps[l.InstanceGUID]; dup {
			continue
		}
		c := &lrpC{key: model.ActualLRPKey{ProcessGUID: l.ProcessGUID, Index: l.Index},
			ik: model.InstanceKey{InstanceGUID: l.InstanceGUID, CellID: r.cfg.CellID}, res: l.Resource, born: time.Now()}
		var st mrep.Step
		c.Container, st = mrep.NewLRP()
		r.lrps[l.InstanceGUID] = c
		starts = append(starts, start{c: c, st: st})
	}
	for _, t := range wk.Tasks {
		if _, dup := r.tasks[t.TaskGUID]; dup {
			continue
		}
		c := &taskC{guid: t.TaskGUID, res: t.Resource, born: time.Now()}
		var st mrep.Step
		c.Container, st = mrep.NewTask()
		r.tasks[t.TaskGUID] = c
		starts = append(starts, start{t: c, st: st})
	}
	r.mu.Unlock()
	for _, s := range starts {
		if s.c != nil {
			r.goTracked(func() { r.driveLRP(s.c, s.st) })
		} else {
			r.goTracked(func() { r.driveTask(s.t, s.st) })
		}
	}
	api.WriteJSON(w, http.StatusOK, struct{}{})
}

// Listening reports whether a socket in pid's network namespace listens on TCP port
// (a LISTEN row, state 0A, in /proc/PID/net/tcp or tcp6).
func Listening(pid, port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"tcp", "tcp6"} {
		fh, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) > 3 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				fh.Close()
				return true
			}
		}
		fh.Close()
	}
	return false
}

// fetchPackage writes the package's files (manifest + blobs) under dst.
func (r *Rep) fetchPackage(pkg, dst string) error {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	var files []api.File
	if err := r.bbs.Do(ctx, http.MethodGet, "/v1/blobs/"+pkg, nil, &files); err != nil {
		return err
	}
	for _, f := range files {
		if !filepath.IsLocal(f.Path) {
			return fmt.Errorf("package path %q escapes the app directory", f.Path)
		}
		p := filepath.Join(dst, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		fh, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(f.Mode|0o444)&0o755)
		if err != nil {
			return err
		}
		err = r.bbs.DoRaw(ctx, http.MethodGet, "/v1/blobs/"+f.SHA256, nil, "", fh)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// uploadDroplet tars and gzips dir, uploads it and returns its sha256.
func (r *Rep) uploadDroplet(dir string) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dir), "droplet-*.tgz")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(tmp, h))
	tw := tar.NewWriter(gz)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := gz.Close(); err != nil {
		return "", err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	if _, err := tmp.Seek(0, 0); err != nil {
		return "", err
	}
	defer tmp.Close()
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	return sha, r.bbs.DoRaw(ctx, http.MethodPut, "/v1/droplets/"+sha, tmp, "application/gzip", nil)
}

// droplet returns the directory holding the extracted droplet sha, downloading and
// extracting it once per rep.
func (r *Rep) droplet(sha string) (string, error) {
	if len(sha) != 64 {
		return "", fmt.Errorf("droplet %q: not a sha256", sha)
	}
	r.dropMu.Lock()
	m, ok := r.dropets[sha]
	if !ok {
		m = &sync.Mutex{}
		r.dropets[sha] = m
	}
	r.dropMu.Unlock()
	m.Lock()
	defer m.Unlock()
	dst := filepath.Join(r.cfg.Dir, "droplets", sha)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	tmp, err := os.MkdirTemp(filepath.Join(r.cfg.Dir, "droplets"), ".x-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Minute)
	defer cancel()
	go func() { pw.CloseWithError(r.bbs.DoRaw(ctx, http.MethodGet, "/v1/blobs/"+sha, nil, "", pw)) }()
	if err := extract(pr, tmp); err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("droplet %s: %w", sha[:12], err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// extract unpacks a tar.gz of regular files and directories under dst.
func extract(rd io.Reader, dst string) error {
	gz, err := gzip.NewReader(rd)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(h.Name) {
			return fmt.Errorf("entry %q escapes the droplet", h.Name)
		}
		p := filepath.Join(dst, h.Name)
		mode := os.FileMode(h.Mode&0o755) | 0o444
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, mode|0o111); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("entry %q: only files and directories are allowed", h.Name)
		}
	}
}
