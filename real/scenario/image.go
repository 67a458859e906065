package scenario

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"

	"github.com/diegolab/diegolab/real/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A scenario's [[images]] live: each version of an image is an OCI image built here
// from what the project has and pushed to the cluster's upstream registry. Its layers,
// bottom first:
//
//   - the busybox stack (the cluster's, as the seeded images use it);
//   - the workload layer: /workload/workload (cmd/workload) and one configuration per
//     app of the scenario that runs an image, /workload/apps/<process guid>.json (the
//     scenario's seed and the group's behaviour, scenarios/behave); every image of a
//     run carries the same workload layer, and each app's start command names its
//     own configuration;
//   - one filler layer per layer of the scenario's image, of its size in MB (10^6
//     bytes, as the simulator counts) times the run's image scale: a file of
//     pseudo-random bytes (incompressible, so the bytes pulled are the sizes) drawn
//     from a seed that is a hash of the image, the version that introduced the layer
//     and its position. The same scenario therefore builds the same digests, and a
//     push-image event's shared_layers are the very layers of the version before.
//
// The stack and workload layers add a few MB per image the simulator does not count.

// workloadDir is where the workload layer puts the program and the apps' configurations.
const workloadDir = "workload"

// filler is one generated layer: its size and the seed of its bytes.
type filler struct {
	bytes int64
	seed  uint64
}

// fillerSeed names the bytes of layer i introduced by version v of image ref.
func fillerSeed(ref string, v, i int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%d", ref, v, i)
	return h.Sum64()
}

// maxLayerBytes bounds one generated layer (it is built in memory).
const maxLayerBytes = 2 << 30

// fillers returns the generated layers of version v of image ref: layersMB scaled, the
// first shared of them kept from prev (the version before).
func fillers(ref string, v int, layersMB []float64, prev []filler, shared int, scale float64) ([]filler, error) {
	out := make([]filler, len(layersMB))
	for i, mb := range layersMB {
		if i < shared && i < len(prev) {
			out[i] = prev[i]
			continue
		}
		b := math.Round(mb * 1e6 * scale)
		if b < 0 || b > maxLayerBytes {
			return nil, fmt.Errorf("image %s: layer %d of %v MB x scale %v is beyond the %d bytes a live layer may have (--image-scale)", ref, i, mb, scale, maxLayerBytes)
		}
		out[i] = filler{bytes: int64(b), seed: fillerSeed(ref, v, i)}
	}
	return out, nil
}

// workloadLayer holds the workload program and the apps' configurations (by process
// guid), in sorted order.
func workloadLayer(bin []byte, configs map[string][]byte) (v1.Layer, error) {
	entries := []registry.Entry{
		{Path: workloadDir + "/", Dir: true},
		{Path: workloadDir + "/workload", Data: bin, Mode: 0o755},
		{Path: workloadDir + "/apps/", Dir: true},
	}
	guids := make([]string, 0, len(configs))
	for g := range configs {
		guids = append(guids, g)
	}
	slices.Sort(guids)
	for _, g := range guids {
		entries = append(entries, registry.Entry{Path: configPath(g), Data: configs[g]})
	}
	return registry.LayerFromEntries(entries)
}

// configPath is the app's configuration in the image.
func configPath(guid string) string { return workloadDir + "/apps/" + guid + ".json" }

// startCommand runs the workload as app guid.
func startCommand(guid string) string {
	return "/" + workloadDir + "/workload -config /" + configPath(guid)
}

// buildImage stacks base (the stack and workload layers) and the fillers into an
// image whose default process is the workload.
func buildImage(base []v1.Layer, fs []filler) (v1.Image, error) {
	layers := slices.Clone(base)
	for _, f := range fs {
		l, err := registry.RandomLayer(fmt.Sprintf("filler/%016x", f.seed), int(f.bytes), f.seed)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	return registry.Build(layers, v1.Config{
		Entrypoint:   []string{"/" + workloadDir + "/workload"},
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
		WorkingDir:   "/" + workloadDir,
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
	})
}
