// Package pgtest starts throwaway PostgreSQL servers for tests: initdb into a fresh
// temporary directory, a postgres process that listens only on a unix socket in that
// directory (no TCP port, so parallel tests and other engineers' servers never
// collide), and a stop plus removal in t.Cleanup, even when the test fails.
//
// The binaries come from $PGTEST_BIN (a directory holding initdb and postgres), else
// the newest /usr/lib/postgresql/<version>/bin (Debian's postgresql package), else
// PATH. When none is found, Start skips the test with a loud message, except under
// CI=true, where it fails: CI installs the package (.ci/run), so a missing server
// there is a broken setup, not a reason to pass.
//
// When the test runs as root (PostgreSQL refuses to), the server runs as the
// "postgres" system user that the Debian package creates. The server is tuned for
// tests: fsync, synchronous commit and full-page writes off. Data is lost on a
// crash of the machine, never on a crash of a client.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running throwaway PostgreSQL server.
type Server struct {
	// Dir holds the data directory (data/), the socket and the server log (log).
	Dir string
	// Socket is the directory of the unix socket; Port names the socket file in it.
	Socket string
	Port   int
	// User is the superuser name (no password: trust authentication on the socket).
	User string
	cmd  *exec.Cmd
	done chan error
}

// Options tune Start. The zero value is the usual choice.
type Options struct {
	// Settings are extra "name=value" server settings (postgres -c), after the defaults.
	Settings []string
}

// BinDir returns the directory of initdb and postgres, or an error that says where
// it looked.
func BinDir() (string, error) {
	if d := os.Getenv("PGTEST_BIN"); d != "" {
		if hasBinaries(d) {
			return d, nil
		}
		return "", fmt.Errorf("PGTEST_BIN=%s has no initdb and postgres", d)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, d := range dirs {
		if hasBinaries(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if d := filepath.Dir(p); hasBinaries(d) {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) in $PGTEST_BIN, /usr/lib/postgresql/*/bin or PATH: install Debian's postgresql package (apt-get install postgresql)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func hasBinaries(dir string) bool {
	for _, b := range []string{"initdb", "postgres"} {
		if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
			return false
		}
	}
	return true
}

// Start starts a server for the test and stops it (and removes its files) in
// t.Cleanup. See the package comment for when it skips.
func Start(t testing.TB, opts ...Options) *Server {
	t.Helper()
	Require(t)
	s, err := New(opts...)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: stop: %v", err)
		}
	})
	return s
}

// Require skips the test with a loud message when there are no PostgreSQL binaries,
// or fails it under CI=true.
func Require(t testing.TB) {
	t.Helper()
	if _, err := BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v (CI=true: PostgreSQL is required here; .ci/run installs it)", err)
		}
		t.Skipf("\n*** SKIPPED: this test needs PostgreSQL ***\n*** %v ***\n*** (under CI=true this is a failure) ***", err)
	}
}

// New starts a server outside any one test, e.g. once for a package (Shared); the
// caller stops it.
func New(opts ...Options) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	return start(bin, opts...)
}

// Shared is one server for the tests of a package, started by the first test that
// asks (Get) and stopped by Stop from TestMain:
//
//	var pg pgtest.Shared
//	func TestMain(m *testing.M) { code := m.Run(); pg.Stop(); os.Exit(code) }
//	func TestX(t *testing.T) { url := pg.Get(t).CreateDB(t, "x") ... }
type Shared struct {
	mu  sync.Mutex
	s   *Server
	err error
}

// Get returns the shared server, starting it on first use; it skips or fails t like
// Start.
func (sh *Shared) Get(t testing.TB) *Server {
	t.Helper()
	Require(t)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.s == nil && sh.err == nil {
		sh.s, sh.err = New()
	}
	if sh.err != nil {
		t.Fatalf("pgtest: %v", sh.err)
	}
	return sh.s
}

// Stop stops the shared server if it was started.
func (sh *Shared) Stop() error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.s == nil {
		return nil
	}
	return sh.s.Stop()
}

// start is Start without testing: initdb, then postgres, then wait until it accepts
// connections. On any error everything started so far is undone.
func start(bin string, opts ...Options) (_ *Server, err error) {
	// Not t.TempDir: its parent is private to root, and the server may run as postgres.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Socket: dir, Port: 5432, User: "postgres"}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and PostgreSQL will not: no postgres user to run it as (%v)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", s.User, "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"-D", data, "-k", s.Socket, "-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=32MB"}
	for _, o := range opts {
		for _, kv := range o.Settings {
			args = append(args, "-c", kv)
		}
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Pdeathsig: a test binary killed by a timeout takes its server with it (the
	// backends notice the postmaster's death and exit).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			c.Close(ctx)
			cancel()
			return s, nil
		}
		cancel()
		select {
		case werr := <-s.done:
			s.done <- werr
			return nil, fmt.Errorf("postgres exited (%v):\n%s", werr, s.Log())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("postgres did not accept connections within 30 s (%v):\n%s", err, s.Log())
		}
	}
}

// URL returns a connection URL for database db as the superuser, over the socket.
func (s *Server) URL(db string) string {
	q := url.Values{"host": {s.Socket}, "port": {strconv.Itoa(s.Port)}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(s.User), Path: "/" + db, RawQuery: q.Encode()}).String()
}

// CreateDB creates database name (an identifier: letters, digits, underscores) and
// returns its URL. Tests that share a server use one database each.
func (s *Server) CreateDB(t testing.TB, name string) string {
	t.Helper()
	if name == "" || strings.IndexFunc(name, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_'
	}) >= 0 {
		t.Fatalf("pgtest: database name %q: use lower-case letters, digits and underscores", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.URL(name)
}

// Log returns the server's log so far (for failure messages).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "log"))
	return string(b)
}

// Stop shuts the server down (fast shutdown: clients are disconnected; after 10 s,
// SIGKILL to its whole process group) and removes its directory. Calling it twice is
// harmless.
func (s *Server) Stop() error {
	var err error
	if s.cmd != nil && s.cmd.Process != nil && s.done != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
			err = errors.New("postgres did not stop within 10 s: killed")
		}
		s.done = nil
	}
	if s.Dir != "" {
		if rerr := os.RemoveAll(s.Dir); rerr != nil && err == nil {
			err = rerr
		}
		s.Dir = ""
	}
	return err
}
