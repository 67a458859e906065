# Makefile fragment: include it from the top-level Makefile
# (include real/stack/stack.mk). `make stack` builds the busybox root
# filesystem that real-mode containers run on, from Debian's busybox-static.
STACK_DIR ?= $(CURDIR)/build/stack
BUSYBOX ?= /bin/busybox

.PHONY: stack
stack:
	sh real/stack/build-stack.sh $(STACK_DIR) $(BUSYBOX)
