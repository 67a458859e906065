// Package stack builds the root-filesystem "stack" that real-mode containers
// run on: a directory holding Debian's busybox-static binary with one symlink
// per applet, the minimal /etc files Diego's cflinuxfs stacks provide (a vcap
// user with uid and gid 2000), /home/vcap (owned by vcap), /home/vcap/app (the
// mount point of the droplet) and a world-writable sticky /tmp.
//
// The stack is built by the project from the locally installed package, never
// downloaded: Build (used by the tests and the executor) and build-stack.sh
// (used by `make stack`) produce the same layout.
//
// Invariants:
//   - Build is idempotent: a directory whose stamp file names the same layout
//     version and the same busybox binary (by SHA-256) is left untouched.
//   - Build never leaves a half-built stack at its destination: it builds in a
//     sibling temporary directory and renames it into place, so concurrent
//     builders of the same directory agree on one complete result.
//   - Containers mount the stack read-only (as an overlay lower layer); nothing
//     in it is written after the rename.
package stack
