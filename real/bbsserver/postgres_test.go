package bbsserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diegolab/diegolab/internal/pgtest"
	"github.com/diegolab/diegolab/real/api"
)

// The PostgreSQL tests of this package share one throwaway server (internal/pgtest
// skips loudly without PostgreSQL and fails under CI=true), one database per test.
var pg pgtest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	os.Exit(code)
}

var pgDBs struct {
	sync.Mutex
	n int
}

// pgDB creates a fresh database on the shared server and returns its URL.
func pgDB(t *testing.T) string {
	t.Helper()
	srv := pg.Get(t)
	pgDBs.Lock()
	pgDBs.n++
	name := fmt.Sprintf("bbs_%d", pgDBs.n)
	pgDBs.Unlock()
	return srv.CreateDB(t, name)
}

func serve(t *testing.T, cfg Config) (*Server, func()) { return serveTB(t, cfg) }

// pushStatic uploads a one-page static package and pushes it as app web with 2
// instances (the BBS records the app and its staging task); it returns the page,
// its blob's sha256 and the staging task.
func pushStatic(t *testing.T, cl *api.Client) (content, sha string, task api.TaskInfo) {
	t.Helper()
	ctx := context.Background()
	content = "<h1>hi</h1>"
	sum := sha256.Sum256([]byte(content))
	sha = hex.EncodeToString(sum[:])
	if err := cl.DoRaw(ctx, "PUT", "/v1/blobs/"+sha, strings.NewReader(content), "application/octet-stream", nil); err != nil {
		t.Fatal(err)
	}
	push := api.PushRequest{Files: []api.File{{Path: "index.html", SHA256: sha, Mode: 0o644}}, Buildpack: "static", Instances: 2, MemoryMB: 64}
	if err := cl.Do(ctx, "POST", "/v1/apps/web/push", push, nil); err != nil {
		t.Fatal(err)
	}
	var tasks []api.TaskInfo
	if err := cl.Do(ctx, "GET", "/v1/tasks", nil, &tasks); err != nil || len(tasks) != 1 {
		t.Fatalf("tasks after push = %+v, %v; want the staging task", tasks, err)
	}
	return content, sha, tasks[0]
}

// TestPostgresBBS: a BBS over PostgreSQL takes a push (app, staging task, specs), and
// a second BBS with another state directory, opened on the same database, serves the
// same app and task: the state is the database's, not the directory's.
func TestPostgresBBS(t *testing.T) {
	db := pgDB(t)
	blobs := t.TempDir()
	cfg := Config{Dir: blobs, DB: db, Listen: "127.0.0.1:0", Token: "client-token", RepToken: "rep-token"}
	s, stop := serve(t, cfg)
	if s.store.Dialect() != "postgres" {
		t.Fatalf("dialect %q", s.store.Dialect())
	}
	cl := api.NewClient(s.URL(), "client-token", 10*time.Second)
	ctx := context.Background()
	_, _, task := pushStatic(t, cl)
	tasks := []api.TaskInfo{task}
	stop()

	cfg.Dir = blobs // the blobs stay where they are; everything else is in the database
	s2, _ := serve(t, cfg)
	cl2 := api.NewClient(s2.URL(), "client-token", 10*time.Second)
	var app api.App
	if err := cl2.Do(ctx, "GET", "/v1/apps/web", nil, &app); err != nil {
		t.Fatal(err)
	}
	if app.Instances != 2 || app.StagingTask == "" {
		t.Fatalf("app after reopen = %+v", app)
	}
	var tasks2 []api.TaskInfo
	if err := cl2.Do(ctx, "GET", "/v1/tasks", nil, &tasks2); err != nil || len(tasks2) != 1 || tasks2[0].GUID != tasks[0].GUID {
		t.Fatalf("tasks after reopen = %+v, %v; want %+v", tasks2, err, tasks)
	}
}

// TestDBFlagRefusesOtherURLs: --db takes only PostgreSQL URLs, with a clear error.
func TestDBFlagRefusesOtherURLs(t *testing.T) {
	_, err := New(Config{Dir: t.TempDir(), DB: "mysql://x/y", Listen: "127.0.0.1:0", Token: "a", RepToken: "b"})
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("err = %v, want a refusal naming postgres://", err)
	}
}
