package logs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// DefaultBound is the number of lines kept per app when Config.Bound is 0.
const DefaultBound = 1000

// maxIngest bounds one POST of lines.
const maxIngest = 16 << 20

// Service is the log service. It is safe for concurrent use.
type Service struct {
	bound int
	log   *slog.Logger

	mu     sync.Mutex
	apps   map[string]*buffer
	drains map[string][]*drain
	closed bool
	// maxApps bounds the number of buffers (0: no bound); lines for a further app
	// are dropped and counted in refused.
	maxApps int
	refused uint64
	// created is closed and replaced whenever a buffer is created: a follower of an
	// app without lines yet waits on it.
	created chan struct{}
}

type buffer struct {
	ring     []api.LogLine // len == bound once full; ring[start] is the oldest
	start    int
	next     uint64 // seq of the next line (the first line is 1)
	dropped  uint64
	notify   chan struct{} // closed and replaced on every append
	drainErr uint64
}

// New returns a service keeping bound lines per app (DefaultBound when <= 0).
func New(bound int, log *slog.Logger) *Service {
	if bound <= 0 {
		bound = DefaultBound
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{bound: bound, log: log, apps: map[string]*buffer{}, drains: map[string][]*drain{}, created: make(chan struct{})}
}

// SetMaxApps bounds the number of apps the service keeps lines for (0: no bound).
// Lines for an app beyond it are dropped and counted (Totals).
func (s *Service) SetMaxApps(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxApps = max(n, 0)
}

// Forget drops an app's buffer (after the app was deleted); its drains stay until
// SetDrains removes them.
func (s *Service) Forget(app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.apps[app]; ok {
		close(b.notify)
		delete(s.apps, app)
	}
}

// Bound is the per-app buffer size.
func (s *Service) Bound() int { return s.bound }

// buf returns app's buffer, created when there is room (nil otherwise).
func (s *Service) buf(app string) *buffer {
	b, ok := s.apps[app]
	if !ok {
		if s.maxApps > 0 && len(s.apps) >= s.maxApps {
			return nil
		}
		b = &buffer{next: 1, notify: make(chan struct{})}
		s.apps[app] = b
		close(s.created)
		s.created = make(chan struct{})
	}
	return b
}

// view returns app's buffer for reading, or (reads never create buffers) an empty
// one whose notify channel is closed when any buffer is created. Called with mu held.
func (s *Service) view(app string) *buffer {
	if b, ok := s.apps[app]; ok {
		return b
	}
	return &buffer{next: 1, notify: s.created}
}

// Append stores lines (each must already be valid), oldest first per app, and hands
// them to the app's drains.
func (s *Service) Append(lines ...api.LogLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	touched := map[*buffer]bool{}
	for _, l := range lines {
		b := s.buf(l.App)
		if b == nil {
			s.refused++
			continue
		}
		l.Seq = b.next
		b.next++
		if len(b.ring) < s.bound {
			b.ring = append(b.ring, l)
		} else {
			b.ring[b.start] = l
			b.start = (b.start + 1) % s.bound
			b.dropped++
		}
		touched[b] = true
		for _, d := range s.drains[l.App] {
			if !d.offer(l) {
				b.drainErr++
			}
		}
	}
	for b := range touched {
		close(b.notify)
		b.notify = make(chan struct{})
	}
}

// since returns the buffered lines of app with Seq > after (in order) and a channel
// closed by the next append. Called with mu held.
func (b *buffer) since(after uint64) []api.LogLine {
	n := len(b.ring)
	first := b.next - uint64(n) // seq of the oldest buffered line
	if after >= b.next-1 {
		return nil // nothing after it (also for an after beyond the stream's end)
	}
	skip := 0
	if after >= first {
		skip = int(after - first + 1) // < n, as after < b.next-1
	}
	out := make([]api.LogLine, 0, n-skip)
	for i := skip; i < n; i++ {
		out = append(out, b.ring[(b.start+i)%len(b.ring)])
	}
	return out
}

// Since returns app's buffered lines with Seq > after, the sequence number of the last
// line appended so far, and a channel closed when more lines arrive.
func (s *Service) Since(app string, after uint64) ([]api.LogLine, uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.view(app)
	return b.since(after), b.next - 1, b.notify
}

// Recent returns the app's whole buffer, oldest first.
func (s *Service) Recent(app string) []api.LogLine {
	l, _, _ := s.Since(app, 0)
	return l
}

// Stats reports the app's counters.
func (s *Service) Stats(app string) api.LogStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.view(app)
	st := api.LogStats{App: app, Received: b.next - 1, Dropped: b.dropped, Buffered: len(b.ring), Bound: s.bound, DrainErrors: b.drainErr}
	for _, d := range s.drains[app] {
		st.DrainErrors += d.failed.Load()
	}
	return st
}

// Totals sums the counters over every app (for metrics); lines refused because
// the app limit was reached count as received and dropped.
func (s *Service) Totals() (received, dropped uint64, apps int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.apps {
		received += b.next - 1
		dropped += b.dropped
	}
	return received + s.refused, dropped + s.refused, len(s.apps)
}

// SetDrains replaces app's drains by urls (syslog://127.0.0.1:PORT each). Drains
// whose URL stays are kept running.
func (s *Service) SetDrains(app string, urls []string) error {
	addrs := make([]string, len(urls))
	for i, u := range urls {
		a, err := ParseDrain(u)
		if err != nil {
			return fmt.Errorf("drains[%d]: %w", i, err)
		}
		addrs[i] = a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("log service closed")
	}
	var keep []*drain
	for _, d := range s.drains[app] {
		if slices.Contains(addrs, d.addr) {
			keep = append(keep, d)
		} else {
			d.close()
		}
	}
	for _, a := range addrs {
		if !slices.ContainsFunc(keep, func(d *drain) bool { return d.addr == a }) {
			keep = append(keep, newDrain(app, a, s.log))
		}
	}
	if len(keep) == 0 {
		delete(s.drains, app)
	} else {
		s.drains[app] = keep
	}
	return nil
}

// Close stops every drain after it has sent what it holds (bounded by a short timeout).
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	var all []*drain
	for _, ds := range s.drains {
		all = append(all, ds...)
	}
	s.drains = map[string][]*drain{}
	s.mu.Unlock()
	for _, d := range all {
		d.close()
	}
	for _, d := range all {
		d.wait(2 * time.Second)
	}
}

// Ingest reads newline-delimited JSON lines from a POST body, refusing any line whose
// source is not in allowed, and appends them all (or none, on error).
func (s *Service) Ingest(w http.ResponseWriter, r *http.Request, allowed ...string) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxIngest))
	dec.DisallowUnknownFields()
	var lines []api.LogLine
	for i := 0; ; i++ {
		var l api.LogLine
		err := dec.Decode(&l)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				api.WriteError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("log batch exceeds %d bytes", maxIngest))
				return
			}
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("line %d: %w", i+1, err))
			return
		}
		if err := l.Validate(); err != nil {
			api.WriteError(w, http.StatusUnprocessableEntity, fmt.Errorf("line %d: %w", i+1, err))
			return
		}
		if !slices.Contains(allowed, l.Source) {
			api.WriteError(w, http.StatusForbidden, fmt.Errorf("line %d: source %s is not this component's (allowed: %v)", i+1, l.Source, allowed))
			return
		}
		l.Seq = 0
		lines = append(lines, l)
	}
	s.Append(lines...)
	api.WriteJSON(w, http.StatusOK, struct {
		Accepted int `json:"accepted"`
	}{len(lines)})
}

// Stream serves app's lines as newline-delimited JSON: ?recent=1 the buffer,
// ?follow=1 new lines until the client goes away (both: the buffer, then new lines;
// neither: as recent).
func (s *Service) Stream(w http.ResponseWriter, r *http.Request, app string) {
	q := r.URL.Query()
	recent, follow := q.Get("recent") == "1" || q.Get("recent") == "true", q.Get("follow") == "1" || q.Get("follow") == "true"
	if !recent && !follow {
		recent = true
	}
	var cursor uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			api.WriteError(w, http.StatusBadRequest, fmt.Errorf("after: %q is not a sequence number", v))
			return
		}
		cursor, recent = n, true
	}
	lines, last, wait := s.Since(app, cursor)
	if !recent {
		lines, cursor = nil, last
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	for {
		for i := range lines {
			if err := enc.Encode(&lines[i]); err != nil {
				return
			}
			cursor = lines[i].Seq
		}
		if fl != nil {
			fl.Flush()
		}
		if !follow {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-wait:
		}
		lines, _, wait = s.Since(app, cursor)
	}
}

// ServeStats writes app's Stats as JSON.
func (s *Service) ServeStats(w http.ResponseWriter, app string) {
	api.WriteJSON(w, http.StatusOK, s.Stats(app))
}
