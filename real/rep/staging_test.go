package rep

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/real/api"
)

// addPackage stores an app package (its files as blobs and the manifest listing them)
// and returns the manifest's sha256.
func (b *fakeBBS) addPackage(files []api.File, bodies map[string]string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, f := range files {
		body := bodies[f.Path]
		sum := sha256.Sum256([]byte(body))
		files[i].SHA256 = hex.EncodeToString(sum[:])
		b.blobs[files[i].SHA256] = []byte(body)
	}
	manifest, _ := json.Marshal(files)
	sum := sha256.Sum256(manifest)
	sha := hex.EncodeToString(sum[:])
	b.blobs[sha] = manifest
	return sha
}

// Staging: the rep downloads the package into the container's app directory, runs
// the buildpack with an output directory, uploads the droplet it wrote and completes
// the task with the droplet's sha256 and start command.
func TestStaging(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("staging chowns its output directory to the container's user (uid 2000): needs root")
	}
	e := newEnv(t)
	pkg := e.bbs.addPackage([]api.File{{Path: "index.html", Mode: 0o644}, {Path: "bin/serve", Mode: 0o755}},
		map[string]string{"index.html": "<h1>hi</h1>\n", "bin/serve": "#!/bin/sh\n"})
	e.bbs.setRunInfo("stg", api.RunInfo{Kind: api.KindStaging, Package: pkg, Buildpack: "static", App: "web", Command: "bin/serve"})
	// The fake buildpack: checks the package is in place, writes the droplet and the
	// start command to the output directory, exits 0.
	e.ex.setStart(func(c *fakeCt) error {
		if c.spec.OutputDir == "" || !strings.Contains(c.spec.Command, "DIEGOLAB_START_COMMAND") || !slices.Contains(c.spec.Env, "DIEGOLAB_START_COMMAND=bin/serve") {
			t.Errorf("staging spec = %+v", c.spec)
		}
		got, err := os.ReadFile(filepath.Join(c.spec.AppDir, "index.html"))
		if err != nil || string(got) != "<h1>hi</h1>\n" {
			t.Errorf("package file: %q, %v", got, err)
		}
		if err := os.MkdirAll(filepath.Join(c.spec.OutputDir, "droplet"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(c.spec.OutputDir, "droplet", "index.html"), got, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(c.spec.OutputDir, "start_command"), []byte("bin/serve\n"), 0o644); err != nil {
			return err
		}
		go c.exitWith(0, false)
		return nil
	})
	e.workTask("stg")
	e.waitTaskOps("stg", "start-task", "complete-task")
	done := e.bbs.taskOps("stg")[1].R
	if done.Failed {
		t.Fatalf("staging failed: %s", done.Reason)
	}
	var res api.StagingResult
	if err := json.Unmarshal([]byte(done.Result), &res); err != nil {
		t.Fatalf("result %q: %v", done.Result, err)
	}
	if res.StartCommand != "bin/serve" {
		t.Errorf("start command = %q, want bin/serve", res.StartCommand)
	}
	e.bbs.mu.Lock()
	droplet := e.bbs.blobs[res.DropletSHA]
	e.bbs.mu.Unlock()
	if droplet == nil {
		t.Fatalf("droplet %s was not uploaded", res.DropletSHA)
	}
	gz, err := gzip.NewReader(bytes.NewReader(droplet))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if !slices.Contains(names, "index.html") {
		t.Errorf("droplet entries = %v, want index.html", names)
	}
	e.waitTaskGone("stg")
	if _, err := os.Stat(filepath.Join(e.rep.cfg.Dir, "tasks", "stg")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the staging directory outlived the task: %v", err)
	}
}

// A staging whose package cannot be fetched, or would write outside the app
// directory, fails before any container is made.
func TestStagingPackageFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pkg    func(e *env) string
		reason string
	}{
		{"package missing", func(*env) string { return strings.Repeat("ef", 32) }, "staging: downloading the package: no blob efef"},
		{"file escaping the app directory", func(e *env) string {
			return e.bbs.addPackage([]api.File{{Path: "../../etc/cron.d/x", Mode: 0o644}}, map[string]string{"../../etc/cron.d/x": "evil"})
		}, `staging: downloading the package: package path "../../etc/cron.d/x" escapes the app directory`},
		{"file blob missing", func(e *env) string {
			pkg := e.bbs.addPackage([]api.File{{Path: "a.txt", Mode: 0o644}}, map[string]string{"a.txt": "a"})
			e.bbs.mu.Lock()
			sum := sha256.Sum256([]byte("a"))
			delete(e.bbs.blobs, hex.EncodeToString(sum[:]))
			e.bbs.mu.Unlock()
			return pkg
		}, "staging: downloading the package: no blob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.bbs.setRunInfo("stg", api.RunInfo{Kind: api.KindStaging, Package: tc.pkg(e), Buildpack: "static", App: "web"})
			e.workTask("stg")
			e.waitTaskOps("stg", "start-task", "complete-task")
			done := e.bbs.taskOps("stg")[1].R
			if !done.Failed || !strings.HasPrefix(done.Reason, tc.reason) {
				t.Errorf("completion = failed %v %q, want failed %q...", done.Failed, done.Reason, tc.reason)
			}
			if e.ex.ct("t-stg") != nil {
				t.Errorf("a container was made for a staging without its package")
			}
		})
	}
}
