package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/diegolab/diegolab/model/stage"
	"github.com/diegolab/diegolab/scenarios"
)

// The registry model (docs/staging.md): registries with a link and a metadata round
// trip, outages; repositories whose tags point to digests and move on push-image;
// images as layers with sizes; the private registry's cached digests; per-cell layer
// caches.

type simRegistry struct {
	scenarios.Registry
	link      int32
	downUntil time.Duration
}

func (r *simRegistry) down(now time.Duration) bool { return now < r.downUntil }

// imageVersion is one digest of a repository.
type imageVersion struct {
	digest string
	layers []string // layer digests
}

// simImage is a repo:tag with the history of what it pointed to.
type simImage struct {
	scenarios.Image
	reg      int // index in registries
	versions []imageVersion
}

func (im *simImage) current() *imageVersion { return &im.versions[len(im.versions)-1] }

// digestOf names version v of an image deterministically.
func digestOf(ref string, v int) string {
	h := sha256.Sum256([]byte(ref + "#" + strconv.Itoa(v)))
	return "sha256:" + hex.EncodeToString(h[:8])
}

// cacheEntry is a layer's state on one cell: being downloaded by a flow, or present.
type cacheEntry struct {
	present bool
	flow    int32
}

// registryFor returns the registry a pull plan reads from.
func (w *stagingWorld) registryFor(from stage.Registry) *simRegistry {
	switch from {
	case stage.Public:
		return &w.regs[w.pub]
	case stage.Private:
		return &w.regs[w.priv]
	}
	return &w.regs[w.blob]
}

// newVersion appends a version of im with the given layer sizes, keeping the first
// shared layers of the current version.
func (w *stagingWorld) newVersion(im *simImage, layersMB []float64, shared int) {
	v := len(im.versions)
	ver := imageVersion{digest: digestOf(im.Ref(), v)}
	if v > 0 {
		old := im.current().layers
		if shared < 0 {
			shared = len(old) - 1
		}
		shared = min(shared, len(old), len(layersMB))
		ver.layers = append(ver.layers, old[:shared]...)
	}
	for i := len(ver.layers); i < len(layersMB); i++ {
		l := "layer:" + im.Ref() + "#" + strconv.Itoa(v) + "/" + strconv.Itoa(i)
		ver.layers = append(ver.layers, l)
		w.layerBytes[l] = layersMB[i] * 1e6
	}
	im.versions = append(im.versions, ver)
	w.digestLayers[ver.digest] = ver.layers
}

func (w *stagingWorld) image(ref stage.ImageRef) *simImage {
	for _, im := range w.images {
		if im.Name == ref.Repo && im.Tag == ref.Tag {
			return im
		}
	}
	return nil
}

func (w *stagingWorld) bytesOf(layers []string) float64 {
	var n float64
	for _, l := range layers {
		n += w.layerBytes[l]
	}
	return n
}
