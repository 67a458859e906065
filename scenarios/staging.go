package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diegolab/diegolab/model/stage"
)

// Staging, registries and the network: the scenario keys of docs/staging.md.

// Registry kinds.
const (
	RegistryPublic    = "public"    // an image's own registry on the internet (Docker Hub)
	RegistryPrivate   = "private"   // the platform's private registry, inside its network
	RegistryBlobstore = "blobstore" // CC's blobstore: packages and droplets
)

// Defaults of the staging model (docs/staging.md explains each).
const (
	DefaultPublicRegistry   = "docker-hub"
	DefaultPrivateRegistry  = "platform-registry"
	DefaultBlobstore        = "blobstore"
	DefaultPublicMbps       = 1000.0  // the foundation's internet uplink, 1 Gbit/s
	DefaultLANMbps          = 10000.0 // LAN: private registry, blobstore, 10 Gbit/s
	DefaultCellMbps         = 10000.0 // each cell's NIC
	DefaultClientMbps       = 100.0   // a developer's upload link for cf push
	DefaultPublicResolve    = 500 * time.Millisecond
	DefaultLANResolve       = 20 * time.Millisecond
	DefaultPackageMB        = 50
	DefaultPackageFiles     = 200
	DefaultBuildpackStaging = 60 * time.Second
	DefaultDockerStaging    = 5 * time.Second
	DefaultImageTag         = "latest"
	maxLayers               = 1000
	maxMbps                 = 1e9
)

var stagingActions = []string{ActionPushImage, ActionRegistryOutage}

// arrayTables are the top-level arrays of tables.
var arrayTables = []string{"cells", "apps", "tasks", "events", "registries", "images"}

// topLevelKeys describes the top level's keys for an unknown-key message.
func topLevelKeys() string {
	return " (the top level takes run, auction, timers, cells, apps, tasks, events); staging keys: docker_cache, network, registries, images"
}

// setTopLevel applies an override of docker_cache or network.<key>.
func setTopLevel(raw map[string]any, segs []string, val any, bad func(string)) bool {
	if segs[0] == "docker_cache" {
		if len(segs) != 1 {
			bad("docker_cache is a boolean, not a table: write docker_cache=true")
			return false
		}
		raw["docker_cache"] = val
		return true
	}
	if len(segs) < 2 {
		bad("expected network.<key>=value")
		return false
	}
	if _, ok := raw["network"]; !ok {
		raw["network"] = map[string]any{}
	}
	tbl, ok := raw["network"].(map[string]any)
	if !ok {
		bad("network is not a table in the file")
		return false
	}
	if msg := setPath(tbl, segs[1:], val); msg != "" {
		bad(msg)
		return false
	}
	return true
}

type networkDoc struct {
	CellMbps   rawValue `toml:"cell_mbps"`
	ClientMbps rawValue `toml:"client_mbps"`
}

type registryDoc struct {
	Name          rawValue `toml:"name"`
	Kind          rawValue `toml:"kind"`
	BandwidthMbps rawValue `toml:"bandwidth_mbps"`
	ResolveTime   rawValue `toml:"resolve_time"`
}

type imageDoc struct {
	Name        rawValue `toml:"name"`
	Tag         rawValue `toml:"tag"`
	Registry    rawValue `toml:"registry"`
	Layers      rawValue `toml:"layers"`
	SizeMB      rawValue `toml:"size_mb"`
	Private     rawValue `toml:"private"`
	Credentials rawValue `toml:"credentials"`
}

type stagingAppFields struct {
	Buildpack                 rawValue `toml:"buildpack"`
	DockerImage               rawValue `toml:"docker_image"`
	PackageMB                 rawValue `toml:"package_mb"`
	PackageFiles              rawValue `toml:"package_files"`
	DropletMB                 rawValue `toml:"droplet_mb"`
	StagingTime               rawValue `toml:"staging_time"`
	StagingFailureProbability rawValue `toml:"staging_failure_probability"`
	DockerCache               rawValue `toml:"docker_cache"`
	Credentials               rawValue `toml:"credentials"`
}

type stagingEventFields struct {
	Image        rawValue `toml:"image"`
	Layers       rawValue `toml:"layers"`
	SizeMB       rawValue `toml:"size_mb"`
	SharedLayers rawValue `toml:"shared_layers"`
	Registry     rawValue `toml:"registry"`
}

// Network holds the link speeds that are not a registry's.
type Network struct {
	CellMbps   float64 // each cell's NIC
	ClientMbps float64 // a pushing developer's upload link
}

// Registry is one [[registries]] entry (or a default one).
type Registry struct {
	Name          string
	Kind          string // public, private or blobstore
	BandwidthMbps float64
	ResolveTime   time.Duration // one metadata (manifest) round trip
	Line          int
}

// Image is one [[images]] entry: the version a tag points to at the start of the run.
type Image struct {
	Name, Tag, Registry string
	LayersMB            []float64
	Private             bool
	Credentials         string
	Line                int
}

// Ref is "name:tag".
func (im Image) Ref() string { return im.Name + ":" + im.Tag }

// AppStaging is how an app group is pushed: its lifecycle and what staging needs.
type AppStaging struct {
	Lifecycle                 stage.Lifecycle
	Buildpack                 string
	DockerImage               stage.ImageRef
	PackageMB                 float64
	PackageFiles              int
	DropletMB                 float64
	StagingTime               Dist
	StagingFailureProbability float64
	DockerCache               bool
	Credentials               string
	cacheSet                  bool
}

// RegistryOf returns the registry of the given kind (the first declared).
func (s *Scenario) RegistryOf(kind string) (Registry, bool) {
	for _, r := range s.Registries {
		if r.Kind == kind {
			return r, true
		}
	}
	return Registry{}, false
}

// Image returns the [[images]] entry of a reference.
func (s *Scenario) Image(ref stage.ImageRef) (Image, bool) {
	for _, im := range s.Images {
		if im.Name == ref.Repo && im.Tag == ref.Tag {
			return im, true
		}
	}
	return Image{}, false
}

// Staged reports whether any app group is pushed (has a lifecycle).
func (s *Scenario) Staged() bool {
	for _, g := range s.Apps {
		if g.Staging != nil {
			return true
		}
	}
	return false
}

var positiveMbps = floatRange{math.SmallestNonzeroFloat64, maxMbps, "a number > 0 (Mbit/s)"}

// appStaging reads an app group's staging keys; nil when it declares no lifecycle
// (and then none of them may be set).
func (p *problems) appStaging(key string, d *appDoc, g *AppGroup) *AppStaging {
	f := &d.stagingAppFields
	if !f.Buildpack.set && !f.DockerImage.set {
		for _, x := range []struct {
			n string
			r rawValue
		}{{"package_mb", f.PackageMB}, {"package_files", f.PackageFiles}, {"droplet_mb", f.DropletMB}, {"staging_time", f.StagingTime},
			{"staging_failure_probability", f.StagingFailureProbability}, {"docker_cache", f.DockerCache}, {"credentials", f.Credentials}} {
			if x.r.set {
				p.errorf(key+"."+x.n, "only applies to a pushed app: set buildpack or docker_image too")
			}
		}
		return nil
	}
	st := &AppStaging{
		PackageMB:                 p.float(key+".package_mb", f.PackageMB, DefaultPackageMB, floatRange{0, float64(maxMB), "a number >= 0 (MB)"}),
		PackageFiles:              p.integer(key+".package_files", f.PackageFiles, DefaultPackageFiles, intRange{1, 10_000_000, "an integer > 0 (files in the app package)"}, false),
		StagingFailureProbability: p.float(key+".staging_failure_probability", f.StagingFailureProbability, 0, probability),
		DockerCache:               p.boolean(key+".docker_cache", f.DockerCache, false),
		Credentials:               p.str(key+".credentials", f.Credentials, "", false, `a string such as "user:password"`),
		cacheSet:                  f.DockerCache.set,
	}
	st.DropletMB = p.float(key+".droplet_mb", f.DropletMB, st.PackageMB, floatRange{0, float64(maxMB), "a number >= 0 (MB)"})
	switch {
	case f.Buildpack.set && f.DockerImage.set:
		p.errorf(key+".docker_image", "set either buildpack or docker_image, not both")
		return nil
	case f.Buildpack.set:
		st.Lifecycle = stage.Buildpack
		st.Buildpack = p.str(key+".buildpack", f.Buildpack, "", true, `a buildpack name such as "go_buildpack"`)
		if strings.TrimSpace(st.Buildpack) == "" {
			p.errorf(key+".buildpack", "must not be empty")
		}
		if !strings.HasPrefix(g.RootFS, "preloaded:") {
			p.errorf(key+".rootfs", "a buildpack app runs on a stack: use stack = \"cflinuxfs4\", not a rootfs URL")
		}
		for _, x := range []struct {
			n string
			r rawValue
		}{{"docker_cache", f.DockerCache}, {"credentials", f.Credentials}} {
			if x.r.set {
				p.errorf(key+"."+x.n, "only applies to a docker_image app")
			}
		}
		st.StagingTime = p.dist(key+".staging_time", f.StagingTime, Const(DefaultBuildpackStaging), false)
	default:
		st.Lifecycle = stage.Docker
		ref := p.str(key+".docker_image", f.DockerImage, "", true, `an image reference such as "acme/web:1.2"`)
		r, err := stage.ParseImageRef(ref)
		if err != nil {
			p.errorf(key+".docker_image", fmt.Sprintf("must be an image reference repo:tag such as \"acme/web:1.2\", got %q", ref))
			return nil
		}
		if r.Digest != "" {
			p.errorf(key+".docker_image", "must name a tag (repo:tag), not a digest: the scenario's images are declared by tag")
			return nil
		}
		st.DockerImage = r
		if d.Stack.set || d.RootFS.set {
			p.errorf(key+".docker_image", "set either docker_image or stack/rootfs: a docker app's rootfs is its image")
		}
		g.RootFS = "docker:///" + r.String()
		if f.PackageMB.set || f.PackageFiles.set || f.DropletMB.set {
			p.errorf(key+".package_mb", "a docker_image app uploads no package: drop package_mb, package_files and droplet_mb")
		}
		if f.StagingFailureProbability.set {
			p.errorf(key+".staging_failure_probability", "applies to buildpack apps (a compile failure)")
		}
		st.StagingTime = p.dist(key+".staging_time", f.StagingTime, Const(DefaultDockerStaging), false)
	}
	return st
}

// staging reads the top-level staging keys and checks the apps' references.
func (p *problems) staging(doc *fileDoc, s *Scenario) {
	s.DockerCache = p.boolean("docker_cache", doc.DockerCache, false)
	s.Network = Network{
		CellMbps:   p.float("network.cell_mbps", doc.Network.CellMbps, DefaultCellMbps, positiveMbps),
		ClientMbps: p.float("network.client_mbps", doc.Network.ClientMbps, DefaultClientMbps, positiveMbps),
	}
	names := map[string]string{}
	for i := range doc.Registries {
		key := "registries[" + strconv.Itoa(i) + "]"
		d := &doc.Registries[i]
		r := Registry{
			Name: p.name(key+".name", d.Name, "", true),
			Kind: p.str(key+".kind", d.Kind, "", true, "public, private or blobstore"),
			Line: p.lines[key],
		}
		def, lan := DefaultPublicMbps, false
		switch r.Kind {
		case RegistryPublic:
		case RegistryPrivate, RegistryBlobstore:
			def, lan = DefaultLANMbps, true
		default:
			if d.Kind.set {
				p.errorf(key+".kind", fmt.Sprintf("must be public, private or blobstore, got %q", r.Kind))
			}
		}
		rt := DefaultPublicResolve
		if lan {
			rt = DefaultLANResolve
		}
		r.BandwidthMbps = p.float(key+".bandwidth_mbps", d.BandwidthMbps, def, positiveMbps)
		r.ResolveTime = p.duration(key+".resolve_time", d.ResolveTime, rt, false, false)
		if prev, dup := names[r.Name]; dup && r.Name != "" {
			p.errorf(key+".name", fmt.Sprintf("duplicate registry name %q (also %s)", r.Name, prev))
		}
		names[r.Name] = key
		if r.Kind != RegistryPublic {
			if _, has := s.RegistryOf(r.Kind); has {
				p.errorf(key+".kind", fmt.Sprintf("only one %s registry is modelled", r.Kind))
			}
		}
		s.Registries = append(s.Registries, r)
	}
	if len(doc.Images) == 0 && len(doc.Registries) == 0 && !s.Staged() && !doc.Network.CellMbps.set && !doc.Network.ClientMbps.set {
		s.Network = Network{} // no staging model in this scenario
	}
	if len(doc.Images) > 0 || s.Staged() {
		for _, r := range []Registry{
			{Name: DefaultPublicRegistry, Kind: RegistryPublic, BandwidthMbps: DefaultPublicMbps, ResolveTime: DefaultPublicResolve},
			{Name: DefaultPrivateRegistry, Kind: RegistryPrivate, BandwidthMbps: DefaultLANMbps, ResolveTime: DefaultLANResolve},
			{Name: DefaultBlobstore, Kind: RegistryBlobstore, BandwidthMbps: DefaultLANMbps, ResolveTime: DefaultLANResolve},
		} {
			if _, has := s.RegistryOf(r.Kind); !has {
				if _, taken := names[r.Name]; taken {
					p.errorf("registries", fmt.Sprintf("the default %s registry is named %q, which another registry uses: declare a %s registry", r.Kind, r.Name, r.Kind))
					continue
				}
				s.Registries = append(s.Registries, r)
			}
		}
	}
	pub, _ := s.RegistryOf(RegistryPublic)
	seen := map[string]string{}
	for i := range doc.Images {
		key := "images[" + strconv.Itoa(i) + "]"
		d := &doc.Images[i]
		im := Image{
			Name:        p.str(key+".name", d.Name, "", true, `a repository such as "acme/web"`),
			Tag:         p.str(key+".tag", d.Tag, DefaultImageTag, false, `a tag such as "1.2"`),
			Registry:    p.str(key+".registry", d.Registry, pub.Name, false, "the name of a public registry"),
			Private:     p.boolean(key+".private", d.Private, false),
			Credentials: p.str(key+".credentials", d.Credentials, "", false, `a string such as "user:password"`),
			Line:        p.lines[key],
		}
		if r, err := stage.ParseImageRef(im.Name + ":" + im.Tag); err != nil || r.Repo != im.Name || r.Tag != im.Tag {
			p.errorf(key+".name", fmt.Sprintf("name %q and tag %q do not form a reference repo:tag", im.Name, im.Tag))
		}
		if r, ok := registryNamed(s, im.Registry); !ok || r.Kind != RegistryPublic {
			p.errorf(key+".registry", fmt.Sprintf("must name a public registry (%s), got %q", registryList(s, RegistryPublic), im.Registry))
		}
		if im.Private && im.Credentials == "" {
			p.errorf(key+".credentials", "a private image needs the credentials that open it (apps present theirs with credentials)")
		}
		if !im.Private && d.Credentials.set {
			p.errorf(key+".credentials", "only a private image takes credentials (set private = true)")
		}
		im.LayersMB = p.layers(key, d.Layers, d.SizeMB, true)
		if prev, dup := seen[im.Ref()]; dup {
			p.errorf(key+".tag", fmt.Sprintf("duplicate image %s (also %s): move a tag with a push-image event", im.Ref(), prev))
		}
		seen[im.Ref()] = key
		s.Images = append(s.Images, im)
	}
	for i := range s.Apps {
		g := &s.Apps[i]
		if g.Staging == nil {
			continue
		}
		if !g.Staging.cacheSet {
			g.Staging.DockerCache = s.DockerCache && g.Staging.Lifecycle == stage.Docker
		}
		if g.Staging.Lifecycle == stage.Docker {
			if _, ok := s.Image(g.Staging.DockerImage); !ok {
				p.errorf("apps["+strconv.Itoa(i)+"].docker_image", fmt.Sprintf("no [[images]] entry %s (images: %s)", g.Staging.DockerImage, imageList(s)))
			}
		}
	}
}

// layers reads layers = [MB, ...] or size_mb = MB (one layer); exactly one is needed
// when required.
func (p *problems) layers(key string, layers, size rawValue, required bool) []float64 {
	if layers.set == size.set {
		if layers.set || required {
			p.errorf(key, "needs exactly one of layers (MB per layer, e.g. [30, 5, 12]) or size_mb (one layer)")
		}
		return nil
	}
	mb := floatRange{math.SmallestNonzeroFloat64, float64(maxMB), "a number > 0 (MB)"}
	if size.set {
		return []float64{p.float(key+".size_mb", size, 1, mb)}
	}
	arr, ok := layers.v.([]any)
	if !ok || len(arr) == 0 || len(arr) > maxLayers {
		p.errorf(key+".layers", fmt.Sprintf("must be a non-empty array of at most %d layer sizes in MB such as [30, 5, 12], got %s", maxLayers, describe(layers.v)))
		return nil
	}
	out := make([]float64, 0, len(arr))
	for i, v := range arr {
		out = append(out, p.float(fmt.Sprintf("%s.layers[%d]", key, i), rawValue{v: v, set: true}, 1, mb))
	}
	return out
}

// stagingEvent reads push-image and registry-outage events.
func (p *problems) stagingEvent(key string, d *eventDoc, s *Scenario, e *Event, set map[string]bool) {
	switch e.Action {
	case ActionPushImage:
		e.Image = p.str(key+".image", d.Image, "", true, `an image reference such as "acme/web:latest"`)
		if e.Image != "" {
			r, err := stage.ParseImageRef(e.Image)
			if _, ok := s.Image(r); err != nil || !ok {
				p.errorf(key+".image", fmt.Sprintf("no [[images]] entry %q (images: %s)", e.Image, imageList(s)))
			}
		}
		e.LayersMB = p.layers(key, d.Layers, d.SizeMB, true)
		e.SharedLayers = p.integer(key+".shared_layers", d.SharedLayers, -1, intRange{0, maxLayers, "an integer >= 0 (leading layers kept from the old version)"}, false)
	case ActionRegistryOutage:
		pub, _ := s.RegistryOf(RegistryPublic)
		e.Registry = p.str(key+".registry", d.Registry, pub.Name, false, "a registry name")
		if r, ok := registryNamed(s, e.Registry); !ok || r.Kind == RegistryBlobstore {
			p.errorf(key+".registry", fmt.Sprintf("must name a public or private registry (%s), got %q", registryList(s, ""), e.Registry))
		}
		e.Duration = p.duration(key+".duration", d.Duration, 0, true, true)
	}
}

func registryNamed(s *Scenario, name string) (Registry, bool) {
	for _, r := range s.Registries {
		if r.Name == name {
			return r, true
		}
	}
	return Registry{}, false
}

func registryList(s *Scenario, kind string) string {
	var out []string
	for _, r := range s.Registries {
		if (kind == "" && r.Kind != RegistryBlobstore) || r.Kind == kind {
			out = append(out, r.Name)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func imageList(s *Scenario) string {
	var out []string
	for _, im := range s.Images {
		out = append(out, im.Ref())
	}
	if len(out) == 0 {
		return "none declared"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
