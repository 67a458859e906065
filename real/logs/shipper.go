package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// Shipper batches a component's log lines and POSTs them to the log service
// (POST /v1/logs, newline-delimited JSON) with the component's token.
//
// Send blocks while the queue is full (back-pressure on the writer, e.g. a
// container's output pipe) rather than lose a line; a batch the log service does not
// take (unreachable, refused) is dropped and counted, so a dead log service never
// stalls the component for longer than one request.
type Shipper struct {
	cl    *api.Client
	log   *slog.Logger
	q     chan api.LogLine
	flush chan chan struct{}
	done  chan struct{}
	once  sync.Once

	shipped, dropped atomic.Uint64
}

// Shipper defaults.
const (
	shipQueue = 8192
	shipBatch = 1024
	shipEvery = 20 * time.Millisecond
)

// NewShipper starts a shipper posting to cl (the BBS, with the component's token).
func NewShipper(cl *api.Client, log *slog.Logger) *Shipper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Shipper{cl: cl, log: log, q: make(chan api.LogLine, shipQueue), flush: make(chan chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

// Send queues one line (At defaults to now; a long text is cut to api.MaxLogText).
func (s *Shipper) Send(l api.LogLine) {
	if l.At.IsZero() {
		l.At = time.Now()
	}
	if len(l.Text) > api.MaxLogText {
		l.Text = l.Text[:api.MaxLogText]
	}
	select {
	case <-s.done:
		s.dropped.Add(1)
	case s.q <- l:
	}
}

// Flush waits until every line sent so far has been posted (or dropped).
func (s *Shipper) Flush() {
	ch := make(chan struct{})
	select {
	case s.flush <- ch:
		<-ch
	case <-s.done:
	}
}

// Close posts what is queued and stops.
func (s *Shipper) Close() {
	s.once.Do(func() { s.Flush(); close(s.q) })
	<-s.done
}

// Counts returns lines posted and lines dropped so far.
func (s *Shipper) Counts() (shipped, dropped uint64) { return s.shipped.Load(), s.dropped.Load() }

func (s *Shipper) run() {
	defer close(s.done)
	var batch []api.LogLine
	t := time.NewTicker(shipEvery)
	defer t.Stop()
	post := func() {
		if len(batch) == 0 {
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for i := range batch {
			_ = enc.Encode(&batch[i])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.cl.DoRaw(ctx, http.MethodPost, "/v1/logs", &buf, "application/x-ndjson", nil)
		cancel()
		if err != nil {
			s.dropped.Add(uint64(len(batch)))
			s.log.Warn("log batch dropped", "lines", len(batch), "err", err)
		} else {
			s.shipped.Add(uint64(len(batch)))
		}
		batch = batch[:0]
	}
	// Lines are drained on the ticker (and on Flush), not received one by one: a
	// receive per line would wake this goroutine for every request a router proxies.
	// Send still blocks when the queue is full; Close is noticed at the next tick.
	drain := func() (closed bool) {
		for {
			select {
			case l, ok := <-s.q:
				if !ok {
					return true
				}
				batch = append(batch, l)
				if len(batch) >= shipBatch {
					post()
				}
			default:
				return false
			}
		}
	}
	for {
		select {
		case <-t.C:
			closed := drain()
			post()
			if closed {
				return
			}
		case ch := <-s.flush:
			closed := drain()
			post()
			close(ch)
			if closed {
				return
			}
		}
	}
}
