package registry

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// Options configure a Server.
type Options struct {
	// Name labels the server in errors and metrics ("upstream", "cache").
	Name string
	// Listen is the address (default 127.0.0.1:0, an ephemeral port). Only
	// loopback addresses are accepted.
	Listen string
	// BlobDir keeps blobs on disk there (empty: in memory). Manifests and tags are
	// always in memory: they live as long as the process.
	BlobDir string
}

// Stats is what crossed a registry since it started.
type Stats struct {
	// BlobBytes counts the bytes of blob bodies served (GET .../blobs/...).
	BlobBytes int64 `json:"blob_bytes"`
	// Manifests counts manifest requests answered (GET or HEAD).
	Manifests int64 `json:"manifests"`
	// CredentialUses counts manifest requests of a private repository that
	// carried valid credentials (one per resolve or pull of a private image).
	CredentialUses int64 `json:"credential_uses"`
	// Unauthorized counts requests refused for missing or wrong credentials.
	Unauthorized int64 `json:"unauthorized"`
	// Refused counts requests refused because of an outage.
	Refused int64 `json:"refused"`
}

// Server is one OCI distribution registry on loopback.
type Server struct {
	name    string
	ln      net.Listener
	srv     *http.Server
	inner   http.Handler
	down    atomic.Bool
	blob    atomic.Int64
	mans    atomic.Int64
	creds   atomic.Int64
	unauth  atomic.Int64
	refused atomic.Int64

	mu      sync.Mutex
	private map[string]credential // repository -> what opens it
	done    chan struct{}
}

type credential struct{ user, pass string }

// Start listens on loopback and serves until Close.
func Start(o Options) (*Server, error) {
	if o.Name == "" {
		o.Name = "registry"
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("registry %s: listen address %q: want host:port: %w", o.Name, o.Listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("registry %s: listen address %q: want a loopback address (127.0.0.1:PORT)", o.Name, o.Listen)
	}
	opts := []ggcr.Option{ggcr.Logger(log.New(io.Discard, "", 0))}
	if o.BlobDir != "" {
		if err := os.MkdirAll(o.BlobDir, 0o700); err != nil {
			return nil, fmt.Errorf("registry %s: %w", o.Name, err)
		}
		opts = append(opts, ggcr.WithBlobHandler(diskBlobs{dir: o.BlobDir}))
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", o.Name, err)
	}
	s := &Server{name: o.Name, ln: ln, inner: ggcr.New(opts...), private: map[string]credential{}, done: make(chan struct{})}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the registry's host:port (what image references start with).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Name is the server's label.
func (s *Server) Name() string { return s.name }

// Close stops serving.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// SetOutage turns the outage on (every request answers 503) or off.
func (s *Server) SetOutage(down bool) { s.down.Store(down) }

// Outage reports whether the registry is down.
func (s *Server) Outage() bool { return s.down.Load() }

// AddPrivate makes repository private: only user with password may read or
// write it.
func (s *Server) AddPrivate(repository, user, password string) error {
	if repository == "" || user == "" || password == "" {
		return errors.New("registry: a private repository needs a name, a user and a password")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.private[repository] = credential{user, password}
	return nil
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{BlobBytes: s.blob.Load(), Manifests: s.mans.Load(), CredentialUses: s.creds.Load(),
		Unauthorized: s.unauth.Load(), Refused: s.refused.Load()}
}

// splitPath returns the repository and the kind ("manifests", "blobs", "tags",
// "referrers") of a /v2/ path, or "" for the base path.
func splitPath(p string) (repo, kind string) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", ""
	}
	for _, k := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(rest, k); i > 0 {
			return rest[:i], strings.Trim(k, "/")
		}
	}
	return "", ""
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down.Load() {
		s.refused.Add(1)
		http.Error(w, "registry "+s.name+" unavailable (outage)", http.StatusServiceUnavailable)
		return
	}
	user, pass, hasAuth := r.BasicAuth()
	if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
		// Ask for basic credentials: a client that has some then sends them with
		// every request; an anonymous one sends none and reads public repositories.
		if !hasAuth {
			w.Header().Set("WWW-Authenticate", `Basic realm="diegolab-`+s.name+`"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"credentials optional"}]}`)
			return
		}
		s.inner.ServeHTTP(w, r)
		return
	}
	repo, kind := splitPath(r.URL.Path)
	s.mu.Lock()
	want, private := s.private[repo]
	s.mu.Unlock()
	if private {
		ok := hasAuth && subtle.ConstantTimeCompare([]byte(user), []byte(want.user)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(want.pass)) == 1
		if !ok {
			s.unauth.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="diegolab-`+s.name+`"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":"repository %s needs valid credentials"}]}`, repo)
			return
		}
	}
	switch {
	case kind == "manifests" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.mans.Add(1)
		if private {
			s.creds.Add(1)
		}
	case kind == "blobs" && r.Method == http.MethodGet && !strings.Contains(r.URL.Path, "/blobs/uploads"):
		w = &countingWriter{ResponseWriter: w, n: &s.blob}
	}
	s.inner.ServeHTTP(w, r)
}

// countingWriter counts the body bytes written through it.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// ReadFrom keeps io.Copy's sendfile path for disk blobs while counting.
func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(r)
		c.n.Add(n)
		return n, err
	}
	n, err := io.Copy(struct{ io.Writer }{c}, r)
	return n, err
}
