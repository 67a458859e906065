package live

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/diegolab/diegolab/real/hostnet"
)

// A multi-host cluster (`live up --hosts N`): the supervisor creates N "hosts"
// (network namespaces joined to a hub namespace by veth pairs and a bridge;
// real/hostnet) and runs
//
//   - the BBS and the router in the hub: the BBS listens on the hub's address
//     (10.213.0.1) for the reps and the router, and both also serve a 127.0.0.1
//     socket the supervisor opened in the root namespace and handed down
//     (--extra-listen-fd, --listen-fd), so the CLI and the user's browser keep
//     using 127.0.0.1 and the root namespace never gets an address of the subnet;
//   - cell i's rep (with its executor, port proxies and containers) on host
//     i mod N: it listens on the host's address, reaches the BBS across the link,
//     and maps its containers' ports on the host's address, where the router in
//     the hub reaches them. A host's cells share its zone (zH) unless CellZones
//     says otherwise.
//
// The namespaces are named after the cluster directory (hostsPrefix), so two
// clusters never collide; they go when the supervisor stops, and `live down`
// removes whatever a killed supervisor left.

// hostsPrefix names the namespaces of the cluster in dir: "dl" and 8 hex digits
// of the directory's hash.
func hostsPrefix(dir string) string {
	h := sha256.Sum256([]byte(dir))
	return "dl" + hex.EncodeToString(h[:4])
}

// HostsNet is the network Options describe for the cluster in dir (not created).
func HostsNet(dir string, hosts int) hostnet.Net {
	return hostnet.Net{Prefix: hostsPrefix(dir), Hosts: hosts}
}

// checkHosts validates Options.Hosts against the rest of the options.
func (o Options) checkHosts() error {
	if o.Hosts == 0 {
		return nil
	}
	switch {
	case o.Hosts < 0 || o.Hosts > hostnet.MaxHosts:
		return fmt.Errorf("hosts: want 0 (one host, everything on 127.0.0.1) to %d, got %d", hostnet.MaxHosts, o.Hosts)
	case o.Hosts > o.Cells:
		return fmt.Errorf("hosts: %d hosts for %d cells; want at most one host per cell", o.Hosts, o.Cells)
	case o.Registries || o.RegistryCache:
		return fmt.Errorf("hosts: the registries (--registries) run on the root namespace's loopback, which the hosts cannot reach; not supported with --hosts")
	}
	if o.DB != "" {
		// The BBS runs in the hub, whose loopback is its own: a database on the root
		// namespace's 127.0.0.1 is out of its reach, its unix socket is not.
		u, err := url.Parse(o.DB)
		if err != nil {
			return fmt.Errorf("db: %v", err)
		}
		host := u.Query().Get("host")
		if host == "" {
			host = u.Hostname()
		}
		if host != "" && !strings.HasPrefix(host, "/") {
			return fmt.Errorf("db: with --hosts the BBS runs in the hub namespace, which cannot reach %q over TCP: reach PostgreSQL through its unix socket (postgres://USER@/DB?host=/var/run/postgresql)", host)
		}
	}
	return nil
}

// createHosts makes the cluster's namespaces (when Options.Hosts > 0) and
// records them in live.json before anything runs in them.
func (s *supervisor) createHosts() error {
	if s.o.Hosts == 0 {
		return nil
	}
	want := HostsNet(s.dir, s.o.Hosts)
	// A supervisor killed with -9 left its namespaces: they are this directory's.
	if err := want.Destroy(); err != nil {
		return err
	}
	n, err := hostnet.Create(want.Prefix, want.Hosts)
	if err != nil {
		return err
	}
	s.st.Net = n
	s.log.Info("hosts created", "prefix", n.Prefix, "hosts", n.Hosts, "hub", hostnet.HubAddr)
	return s.save()
}

// destroyHosts removes the namespaces (after every process in them stopped).
func (s *supervisor) destroyHosts() {
	if s.st.Net == nil {
		return
	}
	if err := s.st.Net.Destroy(); err != nil {
		s.log.Error("removing the hosts", "err", err)
	}
}

// rootListener opens addr (127.0.0.1) in the root namespace, as a file a child
// inherits; it returns the address (its port resolved).
func rootListener(addr string) (*os.File, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	defer ln.Close() // the file is a duplicate that keeps the socket listening
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return nil, "", err
	}
	return f, ln.Addr().String(), nil
}

// bbsListen is the BBS's own listen address.
func (s *supervisor) bbsListen() string {
	if s.st.Net == nil {
		return "127.0.0.1:0"
	}
	return hostnet.HubAddr.String() + ":0"
}

// hubBBS moves a BBS into the hub (its args run there) with a root-namespace
// 127.0.0.1 socket for the CLI (c.rootListen once spawned).
func (s *supervisor) hubBBS(c *child, args []string) []string {
	if s.st.Net == nil {
		return args
	}
	c.rootListen = "127.0.0.1:0"
	args = append(args, "--extra-listen-fd", "3")
	return hostnet.Command(s.st.Net.HubNS(), args...)
}

// innerURL is the BBS URL (a list for a pair) for the components.
func (s *supervisor) innerURL() string { return s.st.InnerURL }

// hostOf is the host cell i runs on.
func (s *supervisor) hostOf(i int) int { return i % s.o.Hosts }

// defaultZone is cell i's zone when the options name none: z(i mod 2) on one
// host, the host's zone zH on several.
func (s *supervisor) defaultZone(i int) string {
	if s.st.Net == nil {
		return fmt.Sprintf("z%d", i%2)
	}
	return fmt.Sprintf("z%d", s.hostOf(i))
}

// repListen is cell i's listen address.
func (s *supervisor) repListen(i int) string {
	if s.st.Net == nil {
		return "127.0.0.1:0"
	}
	return s.st.Net.HostAddr(s.hostOf(i)).String() + ":0"
}

// onHost runs cell i's args on its host.
func (s *supervisor) onHost(i int, args []string) []string {
	if s.st.Net == nil {
		return args
	}
	return hostnet.Command(s.st.Net.HostNS(s.hostOf(i)), args...)
}

// hubRouter moves the router into the hub, serving a root-namespace socket on
// listen (its args keep --listen, which --listen-fd overrides).
func (s *supervisor) hubRouter(c *child, args []string, listen string) []string {
	if s.st.Net == nil {
		return args
	}
	c.rootListen = listen
	args = append(args, "--listen-fd", "3")
	return hostnet.Command(s.st.Net.HubNS(), args...)
}

// CutHost takes host i's link down in the hub: its cells lose the BBS and the
// router (a lost host, as far as the platform can tell); RestoreHost brings it
// back.
func CutHost(dir string, i int) error { return setHostLink(dir, i, false) }

// RestoreHost brings host i's link back up.
func RestoreHost(dir string, i int) error { return setHostLink(dir, i, true) }

func setHostLink(dir string, i int, up bool) error {
	dir, _ = filepath.Abs(dir)
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	if st.Net == nil {
		return fmt.Errorf("the cluster in %s has no hosts (live up --hosts N)", dir)
	}
	return st.Net.SetHostLink(i, up)
}
