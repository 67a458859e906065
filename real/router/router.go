package router

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// AccessLogger receives one access-log line per routed request.
type AccessLogger func(api.LogLine)

// Router is the reverse proxy. Build it with New; it is an http.Handler.
type Router struct {
	table  *Table
	proxy  *httputil.ReverseProxy
	access AccessLogger
	log    *slog.Logger

	requests, retries, failures atomic.Uint64
}

type ctxKey struct{}

// attempt is what one request carries through the proxy.
type attempt struct {
	pool     *Pool
	reqID    string
	endpoint api.Endpoint // the one that answered
	tries    int
}

// New returns a router over table. access may be nil.
func New(table *Table, access AccessLogger, log *slog.Logger) *Router {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := &Router{table: table, access: access, log: log}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ForceAttemptHTTP2:     false,
	}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = "instance" // replaced by the transport per attempt
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Request-Id", pr.In.Header.Get("X-Request-Id"))
		},
		Transport: &retrier{rt: rt, next: tr},
		// Without a pool, every response allocates a fresh 32 KB copy buffer.
		BufferPool:    &bufferPool{},
		FlushInterval: 0, // streaming and unknown-length responses are still flushed at once (httputil)
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			rt.failures.Add(1)
			a := r.Context().Value(ctxKey{}).(*attempt)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "502 Bad Gateway: no instance of app %s answered (%d tried): %v\n", a.pool.App, a.tries, err)
		},
	}
	return rt
}

// Counts returns requests routed, retries and failed requests (502 after retries).
func (rt *Router) Counts() (requests, retries, failures uint64) {
	return rt.requests.Load(), rt.retries.Load(), rt.failures.Load()
}

// requestID returns a random v4-style id. It needs to be unique in practice, not
// unpredictable, so it comes from math/rand/v2's per-thread generator (no syscall per
// request) rather than crypto/rand.
func requestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP routes one request.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	host := NormalizeHost(r.Host)
	if !rt.table.Loaded() {
		// A router that (re)started before the BBS answered knows no route yet:
		// "does not exist" would be a lie. As gorouter waits for its table.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "503 Service Unavailable: the router has not loaded its routing table yet\n")
		return
	}
	pool := rt.table.Lookup(host)
	if pool == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "404 Not Found: Requested route ('%s') does not exist.\n", host)
		return
	}
	rt.requests.Add(1)
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 128 {
		id = requestID()
		r.Header.Set("X-Request-Id", id)
	}
	w.Header().Set("X-Request-Id", id)
	a := &attempt{pool: pool, reqID: id, endpoint: api.Endpoint{Index: -1}}
	sw := &statusWriter{ResponseWriter: w}
	if len(pool.Endpoints) == 0 {
		rt.failures.Add(1)
		sw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		sw.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(sw, "502 Bad Gateway: no instance of app %s is running\n", pool.App)
	} else {
		rt.proxy.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, a)))
	}
	if rt.access != nil {
		rt.access(rt.accessLine(r, a, sw, time.Since(start)))
	}
}

func (rt *Router) accessLine(r *http.Request, a *attempt, sw *statusWriter, took time.Duration) api.LogLine {
	ref, ua := r.Referer(), r.UserAgent()
	if ref == "" {
		ref = "-"
	}
	if ua == "" {
		ua = "-"
	}
	backend, idx := "-", 0
	if a.endpoint.Index >= 0 {
		backend, idx = a.endpoint.Address, a.endpoint.Index
	}
	text := fmt.Sprintf(`%s - [%s] "%s %s %s" %d %d %d "%s" "%s" "%s" "%s" x_forwarded_for:"%s" x_forwarded_proto:"http" vcap_request_id:"%s" response_time:%s app_index:"%d"`,
		r.Host, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), r.Method, r.URL.RequestURI(), r.Proto, sw.status, max(r.ContentLength, 0),
		sw.bytes, ref, ua, r.RemoteAddr, backend, clientIP(r), a.reqID, strconv.FormatFloat(took.Seconds(), 'f', 6, 64), idx)
	return api.LogLine{App: a.pool.App, Source: api.SourceRouter, Index: idx, Stream: api.StreamOut, Text: text, At: time.Now()}
}

func clientIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if prior := r.Header.Get("X-Forwarded-For"); prior != "" {
		return prior + ", " + ip
	}
	return ip
}

// retrier sends a request to the pool's instances in round-robin order, moving on
// when an instance cannot be reached.
type retrier struct {
	rt   *Router
	next http.RoundTripper
}

// retryable: the request never reached the instance. That is a dial failure
// (connection refused: nothing listens, the instance is gone), or a connection
// that failed while the request was being written, before any of it was sent and
// before any body byte was read. Once the request was written, the instance may
// have acted on it (a GET /crash that crashed it, a POST that was half applied)
// even though no response came back: such a request is never sent to another
// instance, so one request can never crash or change several instances.
//
// The decision looks at what was written, not at the final error: on a reused
// keep-alive connection the transport itself re-sends a GET once (to the same
// instance) when the connection dies before the answer, and that second try's dial
// error must not hide that the first one was written.
func retryable(w *writeTrace) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Not written: the dial failed (connection refused), or the connection
	// broke before the request was flushed, or the flush failed (a write to a
	// reset connection sends nothing).
	return !w.bodyRead && !w.written
}

// writeTrace records, for one attempt, whether the request was written out
// (sticky: a later failed re-send by the transport does not undo it).
type writeTrace struct {
	mu       sync.Mutex
	written  bool
	bodyRead bool
}

type trackBody struct {
	io.ReadCloser
	w *writeTrace
}

func (b *trackBody) Read(p []byte) (int, error) {
	b.w.mu.Lock()
	b.w.bodyRead = true
	b.w.mu.Unlock()
	return b.ReadCloser.Read(p)
}

func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	a := req.Context().Value(ctxKey{}).(*attempt)
	body := req.Body
	var last error
	for i, e := range a.pool.order() {
		if i > 0 {
			t.rt.retries.Add(1)
		}
		a.tries++
		w := &writeTrace{}
		ctx := httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			WroteRequest: func(info httptrace.WroteRequestInfo) {
				if info.Err == nil {
					w.mu.Lock()
					w.written = true
					w.mu.Unlock()
				}
			},
		})
		out := req.Clone(ctx)
		if body != nil && body != http.NoBody {
			out.Body = &trackBody{ReadCloser: body, w: w}
		}
		out.URL.Host = e.Address
		resp, err := t.next.RoundTrip(out)
		if err == nil {
			a.endpoint = e
			return resp, nil
		}
		last = fmt.Errorf("instance %d at %s: %w", e.Index, e.Address, err)
		t.rt.log.Debug("instance failed", "app", a.pool.App, "index", e.Index, "addr", e.Address, "err", err)
		if req.Context().Err() != nil || !retryable(w) {
			break
		}
	}
	if last == nil {
		last = errors.New("no instance")
	}
	return nil, last
}

// Listen checks that addr is 127.0.0.1:PORT and listens on it.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		return nil, fmt.Errorf("router listen %q: must be 127.0.0.1:PORT (loopback only)", addr)
	}
	return net.Listen("tcp", addr)
}

// Server returns an http.Server for the router with sensible timeouts.
func (rt *Router) Server() *http.Server {
	return &http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: nil}
}

var _ http.Handler = (*Router)(nil)

// bufferPool recycles the reverse proxy's 32 KB copy buffers (httputil.BufferPool).
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
