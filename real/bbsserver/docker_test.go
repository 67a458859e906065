package bbsserver

import (
	"strings"
	"testing"

	"github.com/diegolab/diegolab/real/api"
	"github.com/google/go-cmp/cmp"
)

func TestValidateDockerPush(t *testing.T) {
	ok := func(img string) *api.PushRequest {
		return &api.PushRequest{Instances: 1, MemoryMB: 64, Docker: &api.DockerPush{Image: img}}
	}
	for _, img := range []string{"library/hello", "library/hello:latest", "127.0.0.1:5000/team/app:v1.2",
		"localhost:5000/a@sha256:" + strings.Repeat("a", 64), "busybox"} {
		if err := validatePush("app", ok(img)); err != nil {
			t.Errorf("%q refused: %v", img, err)
		}
	}
	for _, c := range []struct {
		name string
		req  *api.PushRequest
		want string
	}{
		{"empty image", ok(""), "docker.image"},
		{"uppercase", ok("Library/Hello"), "docker.image"},
		{"space", ok("library/hello latest"), "docker.image"},
		{"too long", ok(strings.Repeat("a", 600)), "docker.image"},
		{"bad digest", ok("a@sha256:xyz"), "docker.image"},
		{"files too", &api.PushRequest{MemoryMB: 64, Files: []api.File{{Path: "a"}}, Docker: &api.DockerPush{Image: "a"}}, "files"},
		{"buildpack too", &api.PushRequest{MemoryMB: 64, Buildpack: "static", Docker: &api.DockerPush{Image: "a"}}, "buildpack"},
		{"user without password", &api.PushRequest{MemoryMB: 64, Docker: &api.DockerPush{Image: "a", Username: "u"}}, "CF_DOCKER_PASSWORD"},
		{"password without user", &api.PushRequest{MemoryMB: 64, Docker: &api.DockerPush{Image: "a", Password: "p"}}, "docker.username"},
		{"huge password", &api.PushRequest{MemoryMB: 64, Docker: &api.DockerPush{Image: "a", Username: "u", Password: strings.Repeat("p", 300)}}, "at most 256"},
	} {
		err := validatePush("app", c.req)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

func TestDockerStagingQualifiesAndChoosesTheCache(t *testing.T) {
	s := &Server{cfg: Config{Docker: DockerConfig{Upstream: "127.0.0.1:5000", Cache: "127.0.0.1:5001"}}}
	on, off := true, false
	ri, app, err := s.dockerStaging("web", 3, &api.DockerPush{Image: "library/hello", Cache: &on, Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if ri.Kind != api.KindDockerStaging || ri.Docker.Image != "127.0.0.1:5000/library/hello" || ri.Docker.CacheRepo != "127.0.0.1:5001/cache/web-v3" || !app.Cache {
		t.Errorf("cache on: run info %+v %+v, app %+v", ri, ri.Docker, app)
	}
	ri, app, err = s.dockerStaging("web", 4, &api.DockerPush{Image: "127.0.0.1:6000/x/y:1", Cache: &off})
	if err != nil || ri.Docker.Image != "127.0.0.1:6000/x/y:1" || ri.Docker.CacheRepo != "" || app.Cache {
		t.Errorf("cache off with a host: %+v %v", ri.Docker, err)
	}
	bare := &Server{}
	if _, _, err := bare.dockerStaging("web", 1, &api.DockerPush{Image: "library/hello"}); err == nil || !strings.Contains(err.Error(), "--registries") {
		t.Errorf("a short name without an upstream: %v", err)
	}
	if _, _, err := bare.dockerStaging("web", 1, &api.DockerPush{Image: "127.0.0.1:1/a", Cache: &on}); err == nil || !strings.Contains(err.Error(), "--registry-cache") {
		t.Errorf("the cache without a cache registry: %v", err)
	}
}

func TestDockerRunInfo(t *testing.T) {
	app := &api.App{Name: "web"}
	staging := api.RunInfo{Docker: &api.DockerRun{Image: "up:1/library/hello:latest", Username: "u", Password: "p"}}
	res := &api.DockerStaged{Digest: "sha256:d", RunImage: "cache:2/cache/web-v1@sha256:d", Cached: true,
		Entrypoint: []string{"httpd", "-f"}, Cmd: []string{"-h", "/srv/it's here"}, Env: []string{"A=1"}, WorkingDir: "/srv", Ports: []int{8081, 9000}}
	ri, err := dockerRunInfo(app, staging, res)
	if err != nil {
		t.Fatal(err)
	}
	want := api.RunInfo{Kind: api.KindLRP, App: "web", Command: `'httpd' '-f' '-h' '/srv/it'\''s here'`, Env: []string{"A=1"}, Ports: []int{8081},
		StartTimeout: startTimeout(app), Docker: &api.DockerRun{Image: "cache:2/cache/web-v1@sha256:d", WorkingDir: "/srv"}}
	if d := cmp.Diff(want, ri); d != "" {
		t.Errorf("cached run info (-want +got):\n%s", d)
	}
	// Without the cache: the image as pushed, with the credentials for every pull.
	res.Cached, res.RunImage, res.Ports = false, staging.Docker.Image, nil
	app.Command = "run-me"
	ri, err = dockerRunInfo(app, staging, res)
	if err != nil {
		t.Fatal(err)
	}
	if ri.Docker.Image != "up:1/library/hello:latest" || ri.Docker.Username != "u" || ri.Docker.Password != "p" || ri.Command != "run-me" || ri.Ports[0] != 8080 {
		t.Errorf("uncached run info %+v %+v", ri, ri.Docker)
	}
	// No command at all is a staging error, not a container that cannot start.
	app.Command, res.Entrypoint, res.Cmd = "", nil, nil
	if _, err := dockerRunInfo(app, staging, res); err == nil || !strings.Contains(err.Error(), "Entrypoint") {
		t.Errorf("no command: %v", err)
	}
}
