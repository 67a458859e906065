package main

import (
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

// dupFD duplicates f's descriptor (inheritedListener takes ownership of it).
func dupFD(t *testing.T, f *os.File) int {
	t.Helper()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestInheritedListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := inheritedListener("listen-fd", dupFD(t, f))
	if err != nil {
		t.Fatal(err)
	}
	if got.Addr().String() != ln.Addr().String() {
		t.Fatalf("inherited %s, want %s", got.Addr(), ln.Addr())
	}
	got.Close()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, c := range []struct {
		fd   int
		want string
	}{
		{0, "want a descriptor"},
		{2, "want a descriptor"},
		{maxInheritedFD + 1, "want a descriptor"},
		{dupFD(t, r), "not a listening socket"},
	} {
		if _, err := inheritedListener("listen-fd", c.fd); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("fd %d: %v, want an error with %q", c.fd, err, c.want)
		}
	}
}
