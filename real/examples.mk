# Makefile fragment (include real/examples.mk): `make examples` builds the Go example
# app statically, so it runs in the busybox stack (no libc).
.PHONY: examples
examples:
	CGO_ENABLED=0 $(GO) build -o examples/goapp/app ./examples/goapp
