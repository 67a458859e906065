package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	apexlog "github.com/apex/log"
	"github.com/diegolab/diegolab/real/registry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/pgzip"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/umoci/oci/layer"
)

// DefaultMaxBytes bounds a cell's layer cache when Config.MaxBytes is 0.
const DefaultMaxBytes = 4 << 30

// pullConcurrency is how many layers of one pull download at once.
const pullConcurrency = 3

// maxLayers bounds the layers of one image (an overlay mount's option string
// and the kernel's lower-layer limit, 500, bound it anyway).
const maxLayers = 128

// Config configures a Store.
type Config struct {
	// Dir holds the unpacked layers (Dir/<algorithm>-<hex>). Made if missing.
	Dir string
	// MaxBytes bounds the unpacked layers kept (0: DefaultMaxBytes).
	MaxBytes int64
	// Shift is added to every owner uid and gid (the executor's user namespace
	// base; 0 without one).
	Shift int
	// Transport is the HTTP transport for registries (default http.DefaultTransport).
	Transport http.RoundTripper
}

// Store is a cell's layer cache. Its methods are safe for concurrent use.
type Store struct {
	cfg Config

	mu     sync.Mutex
	layers map[string]*entry // by layer digest
	total  int64             // unpacked bytes of the complete layers
	clock  uint64            // use counter: LRU order without a wall clock
}

type entry struct {
	key   string
	size  int64
	refs  int
	used  uint64
	ready chan struct{} // closed when the unpack finished (err says how)
	err   error
}

var quietUmoci sync.Once

// New opens (or makes) a layer cache, adopting the complete layers a previous
// process left in Dir.
func New(cfg Config) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("image store: Dir must be set")
	}
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("image store: MaxBytes %d must be >= 0", cfg.MaxBytes)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Shift < 0 {
		return nil, fmt.Errorf("image store: Shift %d must be >= 0", cfg.Shift)
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	quietUmoci.Do(func() { apexlog.SetLevel(apexlog.ErrorLevel) })
	// Searchable by others: a user namespace's root mounts the layers.
	if err := os.MkdirAll(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	if err := os.Chmod(cfg.Dir, 0o711); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	s := &Store{cfg: cfg, layers: map[string]*entry{}}
	ents, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			_ = os.RemoveAll(filepath.Join(cfg.Dir, n)) // an interrupted unpack or eviction
			continue
		}
		if !strings.HasSuffix(n, ".size") {
			continue
		}
		key := strings.TrimSuffix(n, ".size")
		b, err := os.ReadFile(filepath.Join(cfg.Dir, n))
		size, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || perr != nil {
			continue
		}
		if fi, err := os.Stat(filepath.Join(cfg.Dir, key)); err != nil || !fi.IsDir() {
			_ = os.Remove(filepath.Join(cfg.Dir, n))
			continue
		}
		done := make(chan struct{})
		close(done)
		s.layers[key] = &entry{key: key, size: size, ready: done}
		s.total += size
	}
	// Directories without a size file were never completed.
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && s.layers[e.Name()] == nil {
			_ = os.RemoveAll(filepath.Join(cfg.Dir, e.Name()))
		}
	}
	return s, nil
}

// Pulled is an image ready to run: its layers unpacked and held for the caller
// until Release.
type Pulled struct {
	// Digest is the image's manifest digest (what the reference resolved to).
	Digest string
	// Source is the registry (host:port) it came from.
	Source string
	// Layers are the unpacked layer directories, bottom first.
	Layers []string
	Config registry.ImageConfig
	// PulledBytes is what this pull downloaded (compressed layers it lacked);
	// CachedBytes what the cell's cache already had (compressed sizes).
	PulledBytes, CachedBytes int64
	// Elapsed is the pull's duration.
	Elapsed time.Duration
	keys    []string
}

// Pull resolves ref (by tag: one manifest request; by digest: the same request,
// verified against the digest) with auth, and makes sure every layer is
// unpacked in the cache. The layers stay in the cache until Release.
func (s *Store) Pull(ctx context.Context, ref string, auth authn.Authenticator) (*Pulled, error) {
	t0 := time.Now()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w", ref, err)
	}
	if auth == nil {
		auth = authn.Anonymous
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(s.cfg.Transport))
	if err != nil {
		return nil, fmt.Errorf("failed to pull image %s: %w", ref, registryErr(err))
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to pull image %s: config: %w", ref, registryErr(err))
	}
	ls, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	if len(ls) == 0 || len(ls) > maxLayers {
		return nil, fmt.Errorf("image %s: %d layers, want 1..%d", ref, len(ls), maxLayers)
	}
	p := &Pulled{Digest: digest.String(), Source: r.Context().RegistryStr(), Config: registry.ImageConfigOf(cf)}
	// Layers download and unpack concurrently (as Docker's and containerd's
	// pulls do, three at a time by default): each is its own directory.
	type got struct {
		dir     string
		fetched bool
		size    int64
		err     error
	}
	res := make([]got, len(ls))
	sem := make(chan struct{}, pullConcurrency)
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			g := &res[i]
			g.dir, g.fetched, g.size, g.err = s.layer(ctx, l)
		}()
	}
	wg.Wait()
	var errs []error
	for _, g := range res {
		if g.err != nil {
			errs = append(errs, g.err)
			continue
		}
		p.keys = append(p.keys, filepath.Base(g.dir))
		p.Layers = append(p.Layers, g.dir)
		if g.fetched {
			p.PulledBytes += g.size
		} else {
			p.CachedBytes += g.size
		}
	}
	if len(errs) > 0 {
		s.Release(p)
		return nil, fmt.Errorf("failed to pull image %s: %w", ref, errors.Join(errs...))
	}
	s.evict()
	p.Elapsed = time.Since(t0)
	return p, nil
}

// layer returns the directory of l unpacked, taking a reference on it; fetched
// says whether this call downloaded it, size is its compressed size.
func (s *Store) layer(ctx context.Context, l v1.Layer) (dir string, fetched bool, size int64, err error) {
	d, err := l.Digest()
	if err != nil {
		return "", false, 0, err
	}
	if size, err = l.Size(); err != nil {
		return "", false, 0, err
	}
	key := d.Algorithm + "-" + d.Hex
	dir = filepath.Join(s.cfg.Dir, key)
	for {
		s.mu.Lock()
		e, ok := s.layers[key]
		if !ok {
			e = &entry{key: key, ready: make(chan struct{})}
			s.layers[key] = e
			e.refs++
			s.clock++
			e.used = s.clock
			s.mu.Unlock()
			err := s.unpack(ctx, l, key, e)
			s.mu.Lock()
			e.err = err
			if err != nil {
				delete(s.layers, key)
			} else {
				s.total += e.size
			}
			close(e.ready)
			s.mu.Unlock()
			if err != nil {
				return "", false, 0, fmt.Errorf("layer %s: %w", d, err)
			}
			return dir, true, size, nil
		}
		e.refs++
		s.clock++
		e.used = s.clock
		s.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			s.unref(e)
			return "", false, 0, ctx.Err()
		}
		if e.err == nil {
			return dir, false, size, nil
		}
		s.unref(e) // the other unpack failed: try ourselves
	}
}

func (s *Store) unref(e *entry) {
	s.mu.Lock()
	e.refs--
	s.mu.Unlock()
}

// unpack downloads and unpacks l into a temporary directory and renames it into
// place, then records its size.
func (s *Store) unpack(ctx context.Context, l v1.Layer, key string, e *entry) error {
	tmp, err := os.MkdirTemp(s.cfg.Dir, ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	rc, err := uncompressed(l)
	if err != nil {
		return registryErr(err)
	}
	defer rc.Close()
	var mo layer.MapOptions
	if s.cfg.Shift > 0 {
		m := []rspec.LinuxIDMapping{{ContainerID: 0, HostID: uint32(s.cfg.Shift), Size: 65536}}
		mo = layer.MapOptions{UIDMappings: m, GIDMappings: m}
		if err := os.Lchown(tmp, s.cfg.Shift, s.cfg.Shift); err != nil {
			return err
		}
	}
	if err := layer.UnpackLayer(tmp, ctxReader{ctx, rc}, &layer.UnpackOptions{OnDiskFormat: layer.OverlayfsRootfs{MapOptions: mo}}); err != nil {
		return registryErr(err)
	}
	// Read to the end: the digest is verified at EOF.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return registryErr(err)
	}
	if err := rc.Close(); err != nil {
		return registryErr(err)
	}
	size, err := apparentSize(tmp)
	if err != nil {
		return err
	}
	dst := filepath.Join(s.cfg.Dir, key)
	_ = os.RemoveAll(dst)
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if err := os.WriteFile(dst+".size", []byte(strconv.FormatInt(size, 10)+"\n"), 0o600); err != nil {
		return err
	}
	e.size = size
	return nil
}

// ctxReader stops a read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// apparentSize sums the sizes of everything under dir.
func apparentSize(dir string) (int64, error) {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		n += max(fi.Size(), 0)
		return nil
	})
	return n, err
}

// Hold takes the layers of an image a container already runs on (a container a
// previous process of the cell created and this one adopts) as Pull would, so that
// they are not evicted from under it: layers are the directories Pull returned,
// digest the image's. ok is false, and nothing is held, when one of them is no
// longer in the cache.
func (s *Store) Hold(digest string, layers []string) (p *Pulled, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(layers))
	for _, dir := range layers {
		k := filepath.Base(dir)
		e, found := s.layers[k]
		if !found || filepath.Join(s.cfg.Dir, k) != dir || !isClosed(e.ready) || e.err != nil {
			return nil, false
		}
		keys = append(keys, k)
	}
	for _, k := range keys {
		e := s.layers[k]
		e.refs++
		s.clock++
		e.used = s.clock
	}
	return &Pulled{Digest: digest, Layers: layers, keys: keys}, true
}

// Release gives back the layers of p; they may be evicted afterwards.
func (s *Store) Release(p *Pulled) {
	if p == nil {
		return
	}
	s.mu.Lock()
	for _, k := range p.keys {
		if e, ok := s.layers[k]; ok && e.refs > 0 {
			e.refs--
		}
	}
	p.keys = nil
	s.mu.Unlock()
	s.evict()
}

// evict removes least recently used unreferenced layers while the cache is
// above its bound.
func (s *Store) evict() {
	s.mu.Lock()
	var gone []string
	if s.total > s.cfg.MaxBytes {
		var idle []*entry
		for _, e := range s.layers {
			if e.refs == 0 && isClosed(e.ready) && e.err == nil {
				idle = append(idle, e)
			}
		}
		sort.Slice(idle, func(i, j int) bool { return idle[i].used < idle[j].used })
		for _, e := range idle {
			if s.total <= s.cfg.MaxBytes {
				break
			}
			delete(s.layers, e.key)
			s.total -= e.size
			gone = append(gone, e.key)
		}
	}
	s.mu.Unlock()
	for _, k := range gone {
		// Rename first: a new pull of the same layer unpacks into a fresh directory.
		p := filepath.Join(s.cfg.Dir, k)
		_ = os.Remove(p + ".size")
		trash := filepath.Join(s.cfg.Dir, ".evicted-"+k)
		if err := os.Rename(p, trash); err == nil {
			_ = os.RemoveAll(trash)
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Usage is the cache's state.
type Usage struct {
	Layers   int   `json:"layers"`
	Bytes    int64 `json:"bytes"`
	InUse    int   `json:"in_use"`
	MaxBytes int64 `json:"max_bytes"`
}

// Usage reports the complete layers held, their bytes and how many are in use.
func (s *Store) Usage() Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := Usage{Bytes: s.total, MaxBytes: s.cfg.MaxBytes}
	for _, e := range s.layers {
		if isClosed(e.ready) && e.err == nil {
			u.Layers++
			if e.refs > 0 {
				u.InUse++
			}
		}
	}
	return u
}

// Has reports whether the layer with that digest (sha256:hex) is unpacked.
func (s *Store) Has(digest string) bool {
	key := strings.Replace(digest, ":", "-", 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.layers[key]
	return ok && isClosed(e.ready) && e.err == nil
}

func registryErr(err error) error { return registry.Explain(err) }

// uncompressed streams l's tar. A gzip layer is read with large buffered reads
// and inflated by klauspost/pgzip, which decompresses ahead on its own goroutine:
// download and digest check, inflate, and the unpack's writes overlap (the
// stdlib path read the socket 32 KiB at a time on the unpack's goroutine). The
// compressed stream's digest is verified by go-containerregistry as it is read.
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, err
	}
	switch mt {
	case types.DockerLayer, types.OCILayer:
	case types.OCIUncompressedLayer, types.DockerUncompressedLayer:
		return l.Compressed()
	default:
		return l.Uncompressed() // other compressions: the library's own path
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	gz, err := pgzip.NewReaderN(bufio.NewReaderSize(rc, 1<<20), 1<<20, 4)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return &gzipLayer{gz: gz, rc: rc}, nil
}

type gzipLayer struct {
	gz *pgzip.Reader
	rc io.ReadCloser
}

// Read reads the tar; at its end it reads the compressed stream to its end too,
// which is where its digest is checked.
func (g *gzipLayer) Read(b []byte) (int, error) {
	n, err := g.gz.Read(b)
	if errors.Is(err, io.EOF) {
		if _, derr := io.Copy(io.Discard, g.rc); derr != nil {
			return n, derr
		}
	}
	return n, err
}

func (g *gzipLayer) Close() error {
	return errors.Join(g.gz.Close(), g.rc.Close())
}
