package hostnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// require skips only outside CI when the test cannot run (not root, no ip).
func require(t *testing.T) {
	t.Helper()
	var why string
	if os.Geteuid() != 0 {
		why = "needs root (network namespaces)"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs iproute2's ip"
	} else if _, err := exec.LookPath("nsenter"); err != nil {
		why = "needs util-linux's nsenter"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("hostnet: %s (CI=true: not skipping)", why)
	}
	t.Skipf("hostnet: %s", why)
}

// testNet creates a network with a prefix of its own, destroyed at cleanup
// (failing the test if anything is left).
func testNet(t *testing.T, hosts int) *Net {
	t.Helper()
	require(t)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	n, err := Create("t"+hex.EncodeToString(b), hosts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Destroy(); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	return n
}

// httpGetIn GETs url with a connection made inside namespace ns.
func httpGetIn(ns, url string, timeout time.Duration) (string, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := Do(ns, func() (err error) {
			d := net.Dialer{Timeout: timeout}
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: timeout}
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestHostsRoundTrip: two hosts talk across the bridge, a host's link down cuts
// it off, the root namespace has none of the addresses, and Destroy leaves
// nothing behind.
func TestHostsRoundTrip(t *testing.T) {
	n := testNet(t, 2)
	ln, err := Listen(n.HostNS(0), n.HostAddr(0).String()+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello from "+r.Host)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String() + "/"
	got, err := httpGetIn(n.HostNS(1), url, 5*time.Second)
	if err != nil || !strings.HasPrefix(got, "hello from "+n.HostAddr(0).String()) {
		t.Fatalf("host 1 -> host 0: %q, %v", got, err)
	}
	got, err = httpGetIn(n.HubNS(), url, 5*time.Second)
	if err != nil || !strings.HasPrefix(got, "hello") {
		t.Fatalf("hub -> host 0: %q, %v", got, err)
	}
	// The root namespace has no route to the subnet: the address exists only in
	// the project's namespaces.
	d := net.Dialer{Timeout: time.Second}
	if c, err := d.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatalf("root namespace reached %s", ln.Addr())
	}
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ifs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && Subnet.Contains(p.Addr()) {
			t.Fatalf("root namespace holds %s", a)
		}
	}
	// Host 0's link down in the hub: host 1 cannot reach it; up again: it can.
	if err := n.SetHostLink(0, false); err != nil {
		t.Fatal(err)
	}
	if got, err := httpGetIn(n.HostNS(1), url, time.Second); err == nil {
		t.Fatalf("host 0's link is down, yet host 1 got %q", got)
	}
	if err := n.SetHostLink(0, true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err = httpGetIn(n.HostNS(1), url, time.Second); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host 0 unreachable after its link came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A process started with Command runs in the host's namespace.
	argv := Command(n.HostNS(1), "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), n.HostAddr(1).String()+"/24") {
		t.Fatalf("Command in host 1: %s %v", out, err)
	}
	// Destroy removes everything; a second Destroy is a no-op.
	srv.Close()
	if err := n.Destroy(); err != nil {
		t.Fatal(err)
	}
	if left, err := n.Leftovers(); err != nil || len(left) > 0 {
		t.Fatalf("left: %v %v", left, err)
	}
	if err := n.Destroy(); err != nil {
		t.Fatalf("second destroy: %v", err)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		prefix string
		hosts  int
		want   string
	}{
		{"Bad", 1, "prefix"},
		{"a", 1, "prefix"},
		{"abc-d", 1, "prefix"},
		{"abcdefghijklm", 1, "prefix"},
		{"ok1", 0, "hosts"},
		{"ok1", MaxHosts + 1, "hosts"},
	} {
		if _, err := Create(c.prefix, c.hosts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Create(%q, %d) = %v, want an error about %s", c.prefix, c.hosts, err, c.want)
		}
	}
}

func TestAllowed(t *testing.T) {
	for hp, want := range map[string]bool{
		"127.0.0.1:80": true, "10.213.0.11:8080": true, "10.213.0.1:0": true,
		"10.213.1.1:80": false, "10.0.0.1:80": false, "0.0.0.0:80": false, "8.8.8.8:53": false,
		"[::1]:80": false, "localhost:80": false, "10.213.0.11": false,
	} {
		if got := AllowedHostPort(hp); got != want {
			t.Errorf("AllowedHostPort(%q) = %v, want %v", hp, got, want)
		}
	}
}
