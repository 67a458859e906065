package stage

import (
	"fmt"
	"strconv"
)

// File is one file of an app package: its content hash and size.
type File struct {
	Hash  string
	Bytes int64
}

// Package is an app's files, as the cf CLI describes them to the platform before an
// upload (the resource-match request: hashes and sizes).
type Package []File

// Bytes is the package's total size.
func (p Package) Bytes() int64 {
	var n int64
	for _, f := range p {
		n += f.Bytes
	}
	return n
}

// SyntheticPackage builds a package of files files totalling bytes bytes (the
// remainder goes to the first files), whose hashes are derived from family and the
// file index: two packages of one family share their files, so the second upload of
// the same code uploads nothing.
func SyntheticPackage(family string, files int, bytes int64) (Package, error) {
	if files <= 0 {
		return nil, fmt.Errorf("package %s: files must be > 0, got %d", family, files)
	}
	if bytes < 0 {
		return nil, fmt.Errorf("package %s: bytes must be >= 0, got %d", family, bytes)
	}
	p := make(Package, files)
	each, rest := bytes/int64(files), bytes%int64(files)
	for i := range p {
		p[i] = File{Hash: family + "/" + strconv.Itoa(i), Bytes: each}
		if int64(i) < rest {
			p[i].Bytes++
		}
	}
	return p, nil
}

// ResourceCache is the platform's resource cache (CC's resource pool): the hashes of
// every file it has stored. Match answers a resource-match request.
type ResourceCache struct {
	known map[string]struct{}
}

// NewResourceCache returns an empty cache.
func NewResourceCache() *ResourceCache { return &ResourceCache{known: map[string]struct{}{}} }

// Match returns the files of p the platform lacks (in package order, each hash once)
// and their total size: what the client must upload.
func (c *ResourceCache) Match(p Package) (missing Package, bytes int64) {
	seen := map[string]struct{}{}
	for _, f := range p {
		if _, ok := c.known[f.Hash]; ok {
			continue
		}
		if _, dup := seen[f.Hash]; dup {
			continue
		}
		seen[f.Hash] = struct{}{}
		missing = append(missing, f)
		bytes += f.Bytes
	}
	return missing, bytes
}

// Store records uploaded files: later matches do not ask for them again.
func (c *ResourceCache) Store(files Package) {
	for _, f := range files {
		c.known[f.Hash] = struct{}{}
	}
}

// Len is the number of distinct files stored.
func (c *ResourceCache) Len() int { return len(c.known) }
