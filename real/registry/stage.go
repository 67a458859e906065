package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// StageRequest is Docker staging's input (DIEGO.md §7.1, the docker builder).
type StageRequest struct {
	// Image is what the user pushed: registry/repository[:tag] or @digest.
	Image string
	// User and Password open a private image (empty: anonymous).
	User, Password string
	// CacheRepo, when set, is registry/repository of the private cache: the
	// resolved image is copied there and the LRP runs it from there by digest.
	CacheRepo string
}

// ImageConfig is what of the image's config an LRP honours.
type ImageConfig struct {
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	// User is the image's user; real cells always run the app as the
	// unprivileged vcap user (uid 2000), as Diego's rootless containers did.
	User string `json:"user,omitempty"`
	// Ports are the image's exposed TCP ports, ascending.
	Ports []int `json:"ports,omitempty"`
}

// StageResult is Docker staging's output.
type StageResult struct {
	// Digest is the image's manifest digest the tag resolved to at staging.
	Digest string `json:"digest"`
	// RunImage is what cells pull: the cache's repository@digest with the cache
	// on, else the image as pushed (a tag is resolved again at every start).
	RunImage string `json:"run_image"`
	// Cached reports whether RunImage is in the private cache.
	Cached bool        `json:"cached"`
	Config ImageConfig `json:"config"`
	// CopiedBytes is what the copy into the cache moved (compressed layers and
	// config), 0 without the cache.
	CopiedBytes int64 `json:"copied_bytes"`
}

// Stage resolves req.Image to a digest (one manifest request to its registry,
// with the credentials), reads the config and, with a cache repository, copies
// the image there by digest: afterwards nothing needs the credentials.
func Stage(ctx context.Context, req StageRequest) (StageResult, error) {
	ref, err := name.ParseReference(req.Image, name.Insecure)
	if err != nil {
		return StageResult{}, fmt.Errorf("docker image %q: %w", req.Image, err)
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithAuth(Auth(req.User, req.Password)), remote.WithTransport(http.DefaultTransport))
	if err != nil {
		return StageResult{}, fmt.Errorf("resolving %s: %w", req.Image, Explain(err))
	}
	img, err := desc.Image()
	if err != nil {
		return StageResult{}, fmt.Errorf("image %s: %w", req.Image, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return StageResult{}, fmt.Errorf("image %s: config: %w", req.Image, Explain(err))
	}
	res := StageResult{Digest: desc.Digest.String(), RunImage: req.Image, Config: ImageConfigOf(cf)}
	if req.CacheRepo == "" {
		return res, nil
	}
	dst, err := name.NewDigest(req.CacheRepo+"@"+res.Digest, name.Insecure)
	if err != nil {
		return StageResult{}, fmt.Errorf("cache repository %q: %w", req.CacheRepo, err)
	}
	if err := remote.Write(dst, img, remote.WithContext(ctx), remote.WithTransport(http.DefaultTransport)); err != nil {
		return StageResult{}, fmt.Errorf("copying %s into the cache %s: %w", req.Image, req.CacheRepo, Explain(err))
	}
	m, err := img.Manifest()
	if err != nil {
		return StageResult{}, err
	}
	res.CopiedBytes = m.Config.Size
	for _, l := range m.Layers {
		res.CopiedBytes += l.Size
	}
	res.RunImage, res.Cached = dst.String(), true
	return res, nil
}

// ImageConfigOf extracts what an LRP honours from an image config.
func ImageConfigOf(cf *v1.ConfigFile) ImageConfig {
	c := cf.Config
	out := ImageConfig{Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User}
	for p := range c.ExposedPorts {
		num, proto, _ := strings.Cut(p, "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		if n, err := strconv.Atoi(num); err == nil && n > 0 && n < 65536 {
			out.Ports = append(out.Ports, n)
		}
	}
	sort.Ints(out.Ports)
	return out
}

// ErrUnavailable marks a registry that answered 5xx or could not be reached.
var ErrUnavailable = errors.New("registry unavailable")

// ErrUnauthorized marks a registry that refused the credentials.
var ErrUnauthorized = errors.New("unauthorized")

// Explain wraps a registry error with ErrUnavailable or ErrUnauthorized when it
// is one, so that callers (and staging's error sanitizer) can tell them apart.
func Explain(err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w: %v", ErrUnauthorized, err)
		case te.StatusCode >= 500:
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}
