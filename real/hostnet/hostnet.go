// Package hostnet makes the "hosts" of a multi-host live cluster: network
// namespaces the project creates itself, joined by veth pairs to a bridge.
//
// One cluster's network is
//
//	PREFIX-hub   bridge br0 10.213.0.1/24 (the BBS and the router run here)
//	  veth vhI <-> eth0 10.213.0.(10+I)/24 in PREFIX-hI (host I: its reps)
//
// Every address is in Subnet and exists only inside namespaces this package
// created: the root namespace gets no address, no route and no interface (the
// links are created inside the namespaces, with `ip -n`), the namespaces get no
// default route and no NAT, so nothing in them can reach any other address. Each
// cluster has namespaces of its own, so two clusters (parallel tests) use the same
// addresses without meeting; PREFIX keeps their names apart.
//
// A process runs "on" a host by entering its namespace (Command), and a process
// in one namespace can listen in another (Listen: the socket stays in the
// namespace it was created in), which is how a root-namespace supervisor gives a
// process in the hub a 127.0.0.1 listener the CLI reaches. Destroy deletes the
// namespaces, which deletes their links and bridge with them.
//
// It uses iproute2's `ip` and util-linux's `nsenter` (.ci/run installs both).
package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Subnet holds every address this package assigns.
var Subnet = netip.MustParsePrefix("10.213.0.0/24")

// HubAddr is the bridge's address in the hub namespace.
var HubAddr = netip.MustParseAddr("10.213.0.1")

// MaxHosts bounds the hosts of one cluster (host addresses .10 to .209).
const MaxHosts = 200

// netnsDir is where `ip netns` keeps the namespaces' handles.
const netnsDir = "/run/netns"

// prefixRE is what a prefix may be: short, so that the names stay valid.
var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{1,11}$`)

// Net is one cluster's namespaces.
type Net struct {
	Prefix string `json:"prefix"`
	Hosts  int    `json:"hosts"`
}

// HubNS is the hub namespace's name.
func (n Net) HubNS() string { return n.Prefix + "-hub" }

// HostNS is host i's namespace name.
func (n Net) HostNS(i int) string { return fmt.Sprintf("%s-h%d", n.Prefix, i) }

// HostAddr is host i's address.
func (n Net) HostAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 213, 0, byte(10 + i)})
}

// HubLink is the hub's end of host i's veth pair (take it down to cut host i off).
func (n Net) HubLink(i int) string { return fmt.Sprintf("vh%d", i) }

// Addrs lists the hub's and the hosts' addresses (for certificate SANs).
func (n Net) Addrs() []string {
	out := []string{HubAddr.String()}
	for i := range n.Hosts {
		out = append(out, n.HostAddr(i).String())
	}
	return out
}

// namespaces lists every namespace of n, the hub first.
func (n Net) namespaces() []string {
	out := []string{n.HubNS()}
	for i := range n.Hosts {
		out = append(out, n.HostNS(i))
	}
	return out
}

// Allowed reports whether ip may carry the platform's traffic: 127.0.0.1 or an
// address of Subnet (which exists only in the project's namespaces).
func Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || Subnet.Contains(ip)
}

// AllowedHostPort is Allowed for "IP:PORT" (any port, 0 included: callers that
// need a real port check it).
func AllowedHostPort(hp string) bool {
	ap, err := netip.ParseAddrPort(hp)
	return err == nil && ap.Addr().Is4() && Allowed(ap.Addr())
}

// Create makes the hub and hosts namespaces of a cluster named prefix (a
// lowercase letter, then 1-11 lowercase letters or digits). On error, whatever
// was made is removed.
func Create(prefix string, hosts int) (_ *Net, err error) {
	if !prefixRE.MatchString(prefix) {
		return nil, fmt.Errorf("hostnet: prefix %q: want a lowercase letter then 1-11 lowercase letters or digits", prefix)
	}
	if hosts < 1 || hosts > MaxHosts {
		return nil, fmt.Errorf("hostnet: hosts: want 1 to %d, got %d", MaxHosts, hosts)
	}
	n := &Net{Prefix: prefix, Hosts: hosts}
	if left, _ := n.Leftovers(); len(left) > 0 {
		return nil, fmt.Errorf("hostnet: namespaces of prefix %q exist already (%s): another cluster uses the prefix, or a run left them (`ip netns del NAME`)", prefix, strings.Join(left, ", "))
	}
	defer func() {
		if err != nil {
			_ = n.Destroy()
		}
	}()
	hub := n.HubNS()
	cmds := [][]string{
		{"netns", "add", hub},
		{"-n", hub, "link", "set", "lo", "up"},
		{"-n", hub, "link", "add", "br0", "type", "bridge"},
		{"-n", hub, "addr", "add", HubAddr.String() + "/24", "dev", "br0"},
		{"-n", hub, "link", "set", "br0", "up"},
	}
	for i := range hosts {
		h := n.HostNS(i)
		cmds = append(cmds,
			[]string{"netns", "add", h},
			[]string{"-n", h, "link", "set", "lo", "up"},
			// Made inside the host's namespace, its peer moved straight into the hub's:
			// neither end ever exists in the root namespace.
			[]string{"-n", h, "link", "add", "eth0", "type", "veth", "peer", "name", n.HubLink(i), "netns", hub},
			[]string{"-n", h, "addr", "add", n.HostAddr(i).String() + "/24", "dev", "eth0"},
			[]string{"-n", h, "link", "set", "eth0", "up"},
			[]string{"-n", hub, "link", "set", n.HubLink(i), "master", "br0"},
			[]string{"-n", hub, "link", "set", n.HubLink(i), "up"},
		)
	}
	for _, c := range cmds {
		if err := ip(c...); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// SetHostLink takes host i's link (its veth end in the hub) up or down.
func (n Net) SetHostLink(i int, up bool) error {
	if i < 0 || i >= n.Hosts {
		return fmt.Errorf("hostnet: host %d: want 0 to %d", i, n.Hosts-1)
	}
	state := "down"
	if up {
		state = "up"
	}
	return ip("-n", n.HubNS(), "link", "set", n.HubLink(i), state)
}

// Destroy deletes every namespace of n (with their links and bridge). It is
// idempotent, and reports what it could not delete.
func (n Net) Destroy() error {
	var errs []error
	for _, ns := range n.namespaces() {
		if _, err := os.Stat(filepath.Join(netnsDir, ns)); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := ip("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if left, err := n.Leftovers(); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("hostnet: still there after delete: %s", strings.Join(left, ", ")))
	}
	return errors.Join(errs...)
}

// Leftovers lists the namespaces named PREFIX-* that exist.
func (n Net) Leftovers() ([]string, error) {
	ents, err := os.ReadDir(netnsDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), n.Prefix+"-") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Path is the handle of namespace ns (for nsenter --net=).
func Path(ns string) string { return filepath.Join(netnsDir, ns) }

// Command returns argv run inside namespace ns: nsenter joins only its network
// namespace (unlike `ip netns exec`, which also remounts /sys, where runc needs
// the host's cgroup tree) and execs argv, so the pid is argv's.
func Command(ns string, argv ...string) []string {
	return append([]string{"nsenter", "--net=" + Path(ns), "--"}, argv...)
}

// Do runs f on an OS thread that has joined namespace ns: sockets f creates
// belong to ns (they stay there after the thread leaves). The thread rejoins its
// own namespace before it is released; if it cannot, it is left locked, and the
// Go runtime discards it rather than reuse a thread in the wrong namespace.
func Do(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("hostnet: %w", err)
			return
		}
		defer self.Close()
		target, err := os.Open(Path(ns))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("hostnet: namespace %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("hostnet: setns %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("hostnet: setns back from %s: %w", ns, err))
			return // still locked: the thread ends with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Listen opens a TCP listener on addr inside namespace ns.
func Listen(ns, addr string) (net.Listener, error) {
	var ln net.Listener
	err := Do(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// ip runs `ip ARGS`, its output in the error.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("hostnet: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
