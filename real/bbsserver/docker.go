package bbsserver

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/real/api"
)

// DockerConfig is the cluster's registries, as `live up --registries` started
// them (all empty: Docker apps name a registry host themselves and there is no
// cache).
type DockerConfig struct {
	// Upstream is the host:port a short image name (library/app:tag) refers to.
	Upstream string
	// Cache is the host:port of the platform's private registry (empty: none).
	Cache string
	// CacheDefault turns the cache on for Docker apps that do not choose.
	CacheDefault bool
}

// Bounds of what a Docker push may carry.
const (
	maxImageRef    = 512
	maxDockerCreds = 256
)

// imageRef is registry/repository[:tag][@sha256:hex], in the lowercase form the
// distribution spec allows (host[:port] optional).
var imageRef = regexp.MustCompile(`^([a-z0-9.-]+(:[0-9]{1,5})?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$`)

// validateDockerPush checks the Docker part of a push; the errors name the field.
func validateDockerPush(req *api.PushRequest) error {
	d := req.Docker
	switch {
	case len(req.Files) > 0:
		return badf("files: a Docker push uploads no files (drop --path or --docker-image)")
	case req.Buildpack != "":
		return badf("buildpack: %q: a Docker push has no buildpack", req.Buildpack)
	case d.Image == "" || len(d.Image) > maxImageRef || !imageRef.MatchString(d.Image):
		return badf("docker.image: %q: want [HOST:PORT/]REPOSITORY[:TAG][@sha256:DIGEST], lowercase, at most %d bytes", d.Image, maxImageRef)
	case len(d.Username) > maxDockerCreds || len(d.Password) > maxDockerCreds:
		return badf("docker.username/password: at most %d bytes each", maxDockerCreds)
	case d.Username != "" && d.Password == "":
		return badf("docker.password: a --docker-username needs a password (CF_DOCKER_PASSWORD)")
	case d.Username == "" && d.Password != "":
		return badf("docker.username: a password was given without --docker-username")
	}
	return nil
}

// qualify prefixes a short image name (no registry host) with the cluster's
// upstream registry, as the Docker CLI prefixes docker.io.
func (s *Server) qualify(image string) (string, error) {
	first, _, ok := strings.Cut(image, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return image, nil
	}
	if s.cfg.Docker.Upstream == "" {
		return "", badf("docker.image: %q names no registry host and this cluster has no upstream registry (live up --registries)", image)
	}
	return s.cfg.Docker.Upstream + "/" + image, nil
}

// dockerStaging returns the staging task's run info and the app's Docker
// description for a push of version.
func (s *Server) dockerStaging(name string, version int, d *api.DockerPush) (api.RunInfo, *api.DockerApp, error) {
	img, err := s.qualify(d.Image)
	if err != nil {
		return api.RunInfo{}, nil, err
	}
	cache := s.cfg.Docker.CacheDefault
	if d.Cache != nil {
		cache = *d.Cache
	}
	run := &api.DockerRun{Image: img, Username: d.Username, Password: d.Password}
	if cache {
		if s.cfg.Docker.Cache == "" {
			return api.RunInfo{}, nil, badf("docker.cache: this cluster has no private registry cache (live up --registry-cache)")
		}
		// Diego named cached images <registry>/<uuid>; a name per app version is as
		// unique and says what it is.
		run.CacheRepo = fmt.Sprintf("%s/cache/%s-v%d", s.cfg.Docker.Cache, name, version)
	}
	return api.RunInfo{Kind: api.KindDockerStaging, App: name, Docker: run},
		&api.DockerApp{Image: img, Username: d.Username, Cache: cache}, nil
}

// dockerRunInfo is the LRP's run info after a Docker staging: by digest from the
// cache (no credentials kept), or the image as pushed with the credentials for
// every pull. staging is the staging task's run info.
func dockerRunInfo(app *api.App, staging api.RunInfo, res *api.DockerStaged) (api.RunInfo, error) {
	if staging.Docker == nil {
		return api.RunInfo{}, badf("docker staging result for %s without a docker staging", app.Name)
	}
	run := &api.DockerRun{Image: res.RunImage, WorkingDir: res.WorkingDir}
	if !res.Cached {
		run.Image, run.Username, run.Password = staging.Docker.Image, staging.Docker.Username, staging.Docker.Password
	}
	port := 8080
	if len(res.Ports) > 0 {
		port = res.Ports[0]
	}
	cmd := app.Command
	if cmd == "" {
		cmd = shellJoin(append(append([]string(nil), res.Entrypoint...), res.Cmd...))
	}
	if strings.TrimSpace(cmd) == "" {
		return api.RunInfo{}, badf("image %s has neither Entrypoint nor Cmd and the push gave no command (-c)", staging.Docker.Image)
	}
	return api.RunInfo{Kind: api.KindLRP, App: app.Name, Command: cmd, Env: res.Env, Ports: []int{port},
		StartTimeout: startTimeout(app), HealthCheck: app.HealthCheck, Docker: run}, nil
}

// shellJoin quotes args for /bin/sh -c (the executor runs the start command so).
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// stagedDocker records a successful Docker staging and desires the LRP. Called
// in a transaction.
func (s *Server) stagedDocker(app api.App, t model.Task, res *api.DockerStaged) (api.App, api.RunInfo, error) {
	var staging api.RunInfo
	if _, err := s.store.GetSpec(specRun, t.GUID, &staging); err != nil {
		return app, api.RunInfo{}, err
	}
	ri, err := dockerRunInfo(&app, staging, res)
	if err != nil {
		return app, api.RunInfo{}, err
	}
	d := *app.Docker
	d.Digest, d.RunImage = res.Digest, res.RunImage
	app.Docker = &d
	return app, ri, nil
}
