// Package image is a cell's side of Docker images: it pulls an image (by digest
// or by tag) from an OCI registry and keeps its layers unpacked in a per-cell,
// content-addressed layer cache that every container of the cell shares.
//
// Each layer is unpacked once, into its own directory named by the layer's
// digest, with umoci's layer extractor (github.com/opencontainers/umoci
// oci/layer) in its overlayfs on-disk format: an OCI whiteout (".wh.NAME")
// becomes an overlayfs whiteout (a 0/0 character device NAME), an opaque
// whiteout (".wh..wh..opq") the directory's trusted.overlay.opaque=y attribute,
// and hard links are linked inside the layer as the tar says (the OCI image spec
// requires both ends of a hard link to be in the same layer's changeset). The
// executor stacks the directories as overlayfs lower layers under the
// container's writable layer, so a layer is never copied per container. Under
// a user namespace the owners are shifted while unpacking (container id N is
// host id Shift+N), as the executor does for the stack.
//
// Eviction (the documented policy): the cache holds at most MaxBytes of unpacked
// layers (apparent size, measured once when unpacked). After every pull, while
// the total is above the bound, the least recently used layer that no container
// uses is removed. Layers in use are never evicted, so the cache may exceed the
// bound while its containers need more; it shrinks back as they go. A layer
// found complete on disk at start (a restarted rep) is adopted, an interrupted
// unpack removed.
package image
