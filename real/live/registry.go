package live

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Registries of a live cluster (`live up --registries`, `--registry-cache`): one
// process, supervised like the others, serves the "upstream" registry (standing
// for Docker Hub) and the platform's private cache on loopback ports, seeds the
// upstream with images built from the busybox stack, and answers a small control
// API (token: the client's) for outages, moving tags and counters.

// Seeded images (repositories of the upstream registry).
const (
	// BusyboxImage is the stack as an image (Cmd sh).
	BusyboxImage = "library/busybox:latest"
	// HelloImage serves "hello <content>" with busybox httpd on port 8081.
	HelloImage = "library/hello:latest"
	// PrivateHelloImage is HelloImage in a private repository; its user is
	// PrivateUser and its password is in DIR/registry/password.
	PrivateHelloImage = "private/hello:latest"
	PrivateUser       = "diegolab"
	// registryAddrs is DIR/registry/addrs.json.
	registryAddrsFile = "addrs.json"
)

// RegistryAddrs are the registries' host:port addresses.
type RegistryAddrs struct {
	Upstream string `json:"upstream"`
	Cache    string `json:"cache"`
	Control  string `json:"control"`
}

// RegistryOptions configure ServeRegistries.
type RegistryOptions struct {
	Dir, Stack                           string
	UpstreamListen, CacheListen, Control string
	Token                                string
	Logger                               *slog.Logger
}

// ServeRegistries is `diegolab live registry serve`: it runs both registries and
// the control API until ctx ends.
func ServeRegistries(ctx context.Context, o RegistryOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Token == "" {
		return errors.New("registry: a control token is required")
	}
	for _, a := range []*string{&o.UpstreamListen, &o.CacheListen, &o.Control} {
		if *a == "" {
			*a = "127.0.0.1:0"
		}
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return err
	}
	up, err := registry.Start(registry.Options{Name: "upstream", Listen: o.UpstreamListen, BlobDir: filepath.Join(o.Dir, "upstream-blobs")})
	if err != nil {
		return err
	}
	defer up.Close()
	cache, err := registry.Start(registry.Options{Name: "cache", Listen: o.CacheListen, BlobDir: filepath.Join(o.Dir, "cache-blobs")})
	if err != nil {
		return err
	}
	defer cache.Close()
	pass, err := privatePassword(o.Dir)
	if err != nil {
		return err
	}
	if err := up.AddPrivate("private/hello", PrivateUser, pass); err != nil {
		return err
	}
	seeder, err := newSeeder(o.Stack)
	if err != nil {
		return err
	}
	for _, s := range []struct{ ref, user string }{{BusyboxImage, ""}, {HelloImage, ""}, {PrivateHelloImage, PrivateUser}} {
		if _, err := seeder.push(ctx, up.Addr()+"/"+s.ref, "v1", s.user, pass); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", o.Control)
	if err != nil {
		return fmt.Errorf("registry control: %w", err)
	}
	srv := &http.Server{Handler: controlAPI(o.Token, up, cache, seeder, pass), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	addrs, _ := json.Marshal(RegistryAddrs{Upstream: up.Addr(), Cache: cache.Addr(), Control: ln.Addr().String()})
	if err := writeFileAtomicLive(filepath.Join(o.Dir, registryAddrsFile), addrs); err != nil {
		return err
	}
	log.Info("registries up", "upstream", up.Addr(), "cache", cache.Addr(), "control", ln.Addr().String())
	<-ctx.Done()
	return nil
}

func writeFileAtomicLive(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// privatePassword reads (or makes) DIR/password.
func privatePassword(dir string) (string, error) {
	p := filepath.Join(dir, "password")
	if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), nil
	}
	t, err := token()
	if err != nil {
		return "", err
	}
	t = t[:24]
	return t, os.WriteFile(p, []byte(t+"\n"), 0o600)
}

// PrivatePassword is the private image's password of the cluster in dir.
func PrivatePassword(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "registry", "password"))
	if err != nil {
		return "", fmt.Errorf("no registry password in %s (live up --registries): %w", dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// seeder builds the seeded images from the stack.
type seeder struct{ base v1.Layer }

func newSeeder(stackDir string) (*seeder, error) {
	l, err := registry.LayerFromDir(stackDir)
	if err != nil {
		return nil, err
	}
	return &seeder{base: l}, nil
}

// image returns the image of repository ref with content (the hello page's text).
func (s *seeder) image(ref, content string) (v1.Image, error) {
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
	if strings.Contains(ref, "/library/busybox") {
		return registry.Build([]v1.Layer{s.base}, v1.Config{Cmd: []string{"sh"}, Env: env})
	}
	page, err := registry.LayerFromEntries([]registry.Entry{{Path: "srv/", Dir: true}, {Path: "srv/www/", Dir: true},
		{Path: "srv/www/index.html", Data: []byte("hello " + content + "\n")}})
	if err != nil {
		return nil, err
	}
	return registry.Build([]v1.Layer{s.base, page}, v1.Config{
		Entrypoint: []string{"httpd", "-f", "-h", "/srv/www"}, Cmd: []string{"-p", "8081"},
		Env: append(env, "IMAGE_CONTENT="+content), WorkingDir: "/srv/www", User: "www-data",
		ExposedPorts: map[string]struct{}{"8081/tcp": {}}})
}

func (s *seeder) push(ctx context.Context, ref, content, user, pass string) (string, error) {
	img, err := s.image(ref, content)
	if err != nil {
		return "", err
	}
	return registry.Push(ctx, img, ref, user, pass)
}

// TagRequest moves a tag of the upstream: the image rebuilt with Content.
type TagRequest struct {
	Image   string `json:"image"` // a seeded repository:tag, e.g. library/hello:latest
	Content string `json:"content"`
}

// PrivateRequest makes a repository of the upstream private (POST /private): a
// scenario's private image (real/scenario) is opened by its own credentials.
type PrivateRequest struct {
	Repository string `json:"repository"`
	User       string `json:"user"`
	Password   string `json:"password"`
}

// RegistryStats is the control API's GET /stats.
type RegistryStats struct {
	Upstream registry.Stats `json:"upstream"`
	Cache    registry.Stats `json:"cache"`
}

func controlAPI(tok string, up, cache *registry.Server, s *seeder, pass string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		api.WriteJSON(w, http.StatusOK, RegistryStats{Upstream: up.Stats(), Cache: cache.Stats()})
	})
	mux.HandleFunc("POST /outage", func(w http.ResponseWriter, r *http.Request) {
		reg := up
		if r.URL.Query().Get("registry") == "cache" {
			reg = cache
		}
		on := r.URL.Query().Get("on")
		if on != "true" && on != "false" {
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("on=%q: want true or false", on))
			return
		}
		reg.SetOutage(on == "true")
		api.WriteJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("POST /private", func(w http.ResponseWriter, r *http.Request) {
		var req PrivateRequest
		if code, err := api.Decode(w, r, &req, 4096); err != nil {
			api.WriteError(w, code, err)
			return
		}
		if len(req.Repository) > 256 || len(req.User) > 256 || len(req.Password) > 256 {
			api.WriteError(w, http.StatusBadRequest, errors.New("repository, user, password: at most 256 bytes each"))
			return
		}
		if err := up.AddPrivate(req.Repository, req.User, req.Password); err != nil {
			api.WriteError(w, http.StatusBadRequest, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, struct{}{})
	})
	mux.HandleFunc("POST /tag", func(w http.ResponseWriter, r *http.Request) {
		var req TagRequest
		if code, err := api.Decode(w, r, &req, 4096); err != nil {
			api.WriteError(w, code, err)
			return
		}
		user := ""
		switch req.Image {
		case HelloImage, BusyboxImage:
		case PrivateHelloImage:
			user = PrivateUser
		default:
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("image %q: want one of %s, %s, %s", req.Image, BusyboxImage, HelloImage, PrivateHelloImage))
			return
		}
		if len(req.Content) > 256 {
			api.WriteError(w, http.StatusBadRequest, errors.New("content: at most 256 bytes"))
			return
		}
		d, err := s.push(r.Context(), up.Addr()+"/"+req.Image, req.Content, user, pass)
		if err != nil {
			api.WriteError(w, http.StatusInternalServerError, err)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]string{"digest": d})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
			api.WriteError(w, http.StatusUnauthorized, errors.New("registry control: bearer token required"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// RegistryClient talks to a live cluster's registry control API.
func RegistryClient(dir string) (*api.Client, RegistryAddrs, error) {
	var a RegistryAddrs
	b, err := os.ReadFile(filepath.Join(dir, "registry", registryAddrsFile))
	if err != nil {
		return nil, a, fmt.Errorf("no registries in %s (live up --registries): %w", dir, err)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, a, err
	}
	tok, err := readToken(filepath.Join(dir, "client.token"))
	if err != nil {
		return nil, a, err
	}
	return api.NewClient("http://"+a.Control, tok, 2*time.Minute), a, nil
}

// startRegistries starts the registry process when the options ask for it and
// returns the BBS's extra arguments.
func (s *supervisor) startRegistries(ctx context.Context) ([]string, error) {
	o := s.o
	if !o.Registries && !o.RegistryCache {
		return nil, nil
	}
	rdir := filepath.Join(s.dir, "registry")
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return nil, err
	}
	addrFile := filepath.Join(rdir, registryAddrsFile)
	_ = os.Remove(addrFile)
	args := []string{o.Binary, "live", "registry", "serve", "--dir", s.dir, "--upstream-listen", "127.0.0.1:0",
		"--cache-listen", "127.0.0.1:0", "--control-listen", "127.0.0.1:0"}
	s.st.Registry = Proc{Name: "registry", Args: args, Dir: rdir}
	c := &child{proc: &s.st.Registry}
	s.kids = append(s.kids, c)
	if err := s.spawn(c); err != nil {
		return nil, err
	}
	if _, err := waitFile(ctx, addrFile, o.Wait); err != nil {
		return nil, fmt.Errorf("registries did not start: %w", err)
	}
	var a RegistryAddrs
	b, err := os.ReadFile(addrFile)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", addrFile, err)
	}
	// A restart keeps the addresses (image references name them).
	for i, v := range s.st.Registry.Args {
		if v == "127.0.0.1:0" {
			switch s.st.Registry.Args[i-1] {
			case "--upstream-listen":
				s.st.Registry.Args[i] = a.Upstream
			case "--cache-listen":
				s.st.Registry.Args[i] = a.Cache
			case "--control-listen":
				s.st.Registry.Args[i] = a.Control
			}
		}
	}
	s.st.Registries = &a
	extra := []string{"--registry-upstream", a.Upstream, "--registry-cache", a.Cache}
	if o.RegistryCache {
		extra = append(extra, "--docker-cache-default")
	}
	return extra, nil
}
