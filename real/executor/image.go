package executor

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/diegolab/diegolab/model"
)

// Docker images: a container made from an image (ContainerSpec.Layers) gets the
// image's unpacked layers as overlayfs lower layers instead of the stack; its
// writable layer, disk quota, user namespace, seccomp profile, capabilities and
// cgroup limits are the same as a droplet container's. The app runs as vcap (uid
// 2000) whatever user the image names.

// maxImageLayers bounds ContainerSpec.Layers (the overlay mount's options must
// fit in a page).
const maxImageLayers = 128

// HostID maps a container uid or gid to the host's: shifted into the user
// namespace's range when containers get one (what owners of an image's layers
// must be unpacked as), unchanged otherwise.
func (e *Executor) HostID(id int) int { return e.hostID(id) }

func (s *ContainerSpec) validateImage() error {
	bad := func(field, problem string) error {
		return &model.ValidationError{Field: field, Problem: problem}
	}
	if len(s.Layers) > maxImageLayers {
		return bad("Layers", fmt.Sprintf("%d layers, at most %d", len(s.Layers), maxImageLayers))
	}
	for i, l := range s.Layers {
		if !filepath.IsAbs(l) || strings.ContainsAny(l, ":,") {
			return bad(fmt.Sprintf("Layers[%d]", i), fmt.Sprintf("%q must be an absolute host path without ':' or ','", l))
		}
	}
	if s.WorkingDir != "" && !strings.HasPrefix(s.WorkingDir, "/") {
		return bad("WorkingDir", fmt.Sprintf("%q must be an absolute path in the container", s.WorkingDir))
	}
	return nil
}

// cwd is the process's working directory.
func (s *ContainerSpec) cwd() string {
	switch {
	case s.WorkingDir != "":
		return s.WorkingDir
	case len(s.Layers) > 0:
		return "/"
	}
	return AppDir
}

// lowerFor returns the overlay lower directories (overlayfs order: top first,
// ':'-separated) and the rootfs mode for spec: the stack, or the image's layers,
// which need overlay (a copy could not apply their whiteouts).
func (e *Executor) lowerFor(spec *ContainerSpec) (string, RootfsMode, error) {
	if len(spec.Layers) == 0 {
		return e.lower, e.cfg.Rootfs, nil
	}
	if e.cfg.Rootfs == RootfsCopy {
		return "", "", &model.ValidationError{Field: "Layers", Problem: "a Docker image needs the overlay root file system (Config.Rootfs copy cannot apply its whiteouts)"}
	}
	top := slices.Clone(spec.Layers)
	slices.Reverse(top)
	return strings.Join(top, ":"), RootfsOverlay, nil
}
