package main

import (
	"net"
	"os"

	"github.com/diegolab/diegolab/real/hostnet"
)

// maxInheritedFD bounds --listen-fd and --extra-listen-fd.
const maxInheritedFD = 1024

// inheritedListener is the listening TCP socket this process inherited as file
// descriptor fd (live up --hosts opens 127.0.0.1 sockets in the root namespace and
// hands them to the BBS and the router, which run in the hub namespace). The
// socket must be a TCP listener on 127.0.0.1 or an address of hostnet.Subnet.
func inheritedListener(flag string, fd int) (net.Listener, error) {
	if fd < 3 || fd > maxInheritedFD {
		return nil, usagef("--%s: want a descriptor in [3, %d], got %d", flag, maxInheritedFD, fd)
	}
	f := os.NewFile(uintptr(fd), flag)
	defer f.Close() // the listener holds its own duplicate
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, usagef("--%s %d: not a listening socket: %v", flag, fd, err)
	}
	if !hostnet.AllowedHostPort(ln.Addr().String()) {
		ln.Close()
		return nil, usagef("--%s %d: listens on %s; want 127.0.0.1 or an address of %s", flag, fd, ln.Addr(), hostnet.Subnet)
	}
	return ln, nil
}
