// Package registry runs OCI distribution registries on loopback for real mode
// and builds the images they serve.
//
// Two roles, one type (Server), both go-containerregistry's pkg/registry (a kept
// implementation of the distribution API) behind a thin handler that adds what the
// Docker claims need:
//
//   - the "upstream" registry stands for Docker Hub: public repositories anyone
//     may pull, private ones that need HTTP basic credentials, tags that move when
//     an image is pushed again under the same tag, and an outage switch that makes
//     every request fail with 503 (tests and `live registry outage`);
//   - the platform's private cache registry (Diego Docker Cache, DIEGO.md §7.2):
//     staging copies an image into it by digest, and with the cache on cells pull
//     only from it.
//
// Both count what crosses them: blob bytes served, manifest requests, and how
// often credentials of a private repository were presented (once per manifest
// request that carried valid credentials: one per staging resolve or cell pull).
//
// Images are built by the project from what it has (the busybox stack and small
// generated layers, see Build) and pushed with go-containerregistry's remote
// package; nothing is downloaded.
package registry
