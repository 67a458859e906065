package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/stage"
)

// dockerBase: [[images]] on line 9, [[apps]] on line 13 (docker_image on 18).
const dockerBase = `[run]
duration = "1h"

[[cells]]
count = 2
memory_mb = 8192
disk_mb = 16384

[[images]]
name = "acme/web"
layers = [30, 5]

[[apps]]
name = "web"
instances = 2
memory_mb = 256
disk_mb = 512
docker_image = "acme/web:latest"
`

func TestStagingKeys(t *testing.T) {
	s, err := Parse("ok.toml", []byte(dockerBase+"\n[[events]]\nat = \"5m\"\naction = \"push-image\"\nimage = \"acme/web:latest\"\nsize_mb = 40\n"), "docker_cache=true")
	if err != nil {
		t.Fatal(err)
	}
	g := s.Apps[0]
	if g.Staging == nil || g.Staging.Lifecycle != stage.Docker || !g.Staging.DockerCache || g.RootFS != "docker:///acme/web:latest" {
		t.Errorf("app staging %+v rootfs %s; want docker, cache on (from the override), docker:///acme/web:latest", g.Staging, g.RootFS)
	}
	if len(s.Registries) != 3 || s.Network.CellMbps != DefaultCellMbps {
		t.Errorf("registries %+v network %+v; want the three defaults", s.Registries, s.Network)
	}
	if e := s.Events[0]; e.Image != "acme/web:latest" || len(e.LayersMB) != 1 || e.LayersMB[0] != 40 || e.SharedLayers != -1 {
		t.Errorf("push-image event %+v", e)
	}
	// An app-level docker_cache wins over the top-level default.
	s, err = Parse("ok.toml", []byte(strings.Replace(dockerBase, "docker_image =", "docker_cache = false\ndocker_image =", 1)), "docker_cache=true")
	if err != nil || s.Apps[0].Staging.DockerCache {
		t.Errorf("app docker_cache=false under a true default: %v, cache %v", err, s != nil && s.Apps[0].Staging.DockerCache)
	}
}

func TestStagingBadKeys(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		overrides []string
		want      string
	}{
		{"unknown image", strings.Replace(dockerBase, `"acme/web:latest"`, `"acme/api:1"`, 1),
			nil, `bad.toml:18: apps[0].docker_image: no [[images]] entry acme/api:1 (images: acme/web:latest)`},
		{"buildpack and docker", dockerBase + "buildpack = \"go_buildpack\"\n",
			nil, `apps[0].docker_image: set either buildpack or docker_image, not both`},
		{"package key without a lifecycle", strings.Replace(dockerBase, `docker_image = "acme/web:latest"`, "package_mb = 5", 1),
			nil, `bad.toml:18: apps[0].package_mb: only applies to a pushed app: set buildpack or docker_image too`},
		{"image needs layers or size", strings.Replace(dockerBase, "layers = [30, 5]\n", "", 1),
			nil, `bad.toml:9: images[0]: needs exactly one of layers`},
		{"bad layer size", strings.Replace(dockerBase, "[30, 5]", "[30, -5]", 1),
			nil, `images[0].layers[1]: must be a number > 0 (MB), got -5`},
		{"private image without credentials", strings.Replace(dockerBase, "layers = [30, 5]", "layers = [30, 5]\nprivate = true", 1),
			nil, `images[0].credentials: a private image needs the credentials`},
		{"unknown registry kind", dockerBase + "\n[[registries]]\nname = \"hub\"\nkind = \"cloud\"\n",
			nil, `registries[0].kind: must be public, private or blobstore, got "cloud"`},
		{"outage of an unknown registry", dockerBase + "\n[[events]]\nat = \"1m\"\naction = \"registry-outage\"\nregistry = \"quay\"\nduration = \"1m\"\n",
			nil, `events[0].registry: must name a public or private registry (docker-hub, platform-registry), got "quay"`},
		{"outage needs a duration", dockerBase + "\n[[events]]\nat = \"1m\"\naction = \"registry-outage\"\n",
			nil, `events[0].duration: missing`},
		{"push-image of an unknown image", dockerBase + "\n[[events]]\nat = \"1m\"\naction = \"push-image\"\nimage = \"x:1\"\nsize_mb = 3\n",
			nil, `events[0].image: no [[images]] entry "x:1"`},
		{"unknown action lists the staging actions", dockerBase + "\n[[events]]\nat = \"1m\"\naction = \"explode\"\n",
			nil, `or a staging action (push-image, registry-outage)`},
		{"docker_cache override must be a boolean", dockerBase, []string{"docker_cache=maybe"},
			`override "docker_cache=maybe": docker_cache: must be true or false, got string "maybe"`},
		{"unknown [network] key", dockerBase + "\n[network]\ncell_mpbs = 5\n",
			nil, `network.cell_mpbs: unknown key (did you mean cell_mbps?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("bad.toml", []byte(tt.src), tt.overrides...)
			if err == nil {
				t.Fatalf("Parse succeeded; want an error containing %q", tt.want)
			}
			if !errors.Is(err, model.ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant a line containing:\n%s", err, tt.want)
			}
		})
	}
}
