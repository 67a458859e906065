package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// PortMapping is one loopback port of the host forwarded to a port inside
// the container's network namespace.
type PortMapping struct {
	ContainerPort int    `json:"container_port"`
	HostAddr      string `json:"host_addr"` // Config.PortIP:<port> (127.0.0.1 by default)
}

// dialInNetns connects to 127.0.0.1:port inside the network namespace open
// at nsFD. The socket is created by a goroutine locked to its OS thread while
// that thread has joined the namespace; the thread rejoins the host's
// namespace before it is released. If it cannot rejoin, the goroutine exits
// still locked, so the Go runtime discards the thread rather than reuse a
// thread in the wrong namespace.
func dialInNetns(ctx context.Context, nsFD int, port int) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		host, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("netns: %w", err)}
			return
		}
		defer host.Close()
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("netns: setns into container: %w", err)}
			return
		}
		var d net.Dialer
		conn, derr := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); err != nil {
			if conn != nil {
				conn.Close()
			}
			ch <- result{err: fmt.Errorf("netns: setns back to host: %w", err)}
			return // thread stays locked and is destroyed
		}
		runtime.UnlockOSThread()
		ch <- result{conn: conn, err: derr}
	}()
	r := <-ch
	return r.conn, r.err
}

// proxy accepts connections on a host loopback listener and splices each one
// to a fresh connection dialled inside the container.
type proxy struct {
	ln     net.Listener
	port   int
	nsFD   int
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	// lastByte is when a byte last moved through any connection (unix nanos).
	lastByte atomic.Int64
}

// serveProxy serves ln (a 127.0.0.1 listener: only the loopback address is ever
// used), splicing each connection to containerPort inside the network namespace
// open at nsFD. The port proxy process (portproxy.go) runs one per port.
func serveProxy(ln net.Listener, containerPort, nsFD int) *proxy {
	p := &proxy{ln: ln, port: containerPort, nsFD: nsFD, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // listener closed
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.untrack(c)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
			inner, err := dialInNetns(ctx, p.nsFD, p.port)
			cancel()
			if err != nil {
				return // the client sees the connection closed
			}
			if !p.track(inner) {
				inner.Close()
				return
			}
			defer p.untrack(inner)
			defer inner.Close()
			splice(c, inner, &p.lastByte)
		}()
	}
}

// splice copies both ways until both directions are done, passing
// half-closes through, and stamps last with the time of each transfer.
func splice(a, b net.Conn, last *atomic.Int64) {
	var wg sync.WaitGroup
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, &stampReader{r: src, last: last})
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	wg.Add(2)
	go cp(a, b)
	go cp(b, a)
	wg.Wait()
}

// stampReader records when it last read something.
type stampReader struct {
	r    io.Reader
	last *atomic.Int64
}

func (s *stampReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// drain waits until no byte moved through the proxy for quiet, at most max:
// requests under way finish before the app is told to stop, while new
// connections are already refused (stopAccepting). Idle keep-alive connections
// do not hold it up.
func (p *proxy) drain(quiet, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		if time.Since(time.Unix(0, p.lastByte.Load())) >= quiet {
			return
		}
		time.Sleep(quiet / 4)
	}
}

// stopAccepting closes the listener: a connection attempt is refused from now
// on (open connections go on). Called when the container's init exits, so that
// a router sees a dead instance as unreachable (and may send the request
// elsewhere) instead of a connection that is accepted and then dropped.
func (p *proxy) stopAccepting() { _ = p.ln.Close() }

// close stops accepting, cuts every open connection and waits for the
// proxy's goroutines.
func (p *proxy) close() error {
	p.mu.Lock()
	p.closed = true
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}
