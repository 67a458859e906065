package router

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// DefaultSyncInterval is Diego's route-emitter full sync period.
const DefaultSyncInterval = 60 * time.Second

// Emitter keeps a Table in step with the BBS.
type Emitter struct {
	// BBS is the BBS API with the router's token (its timeout applies to syncs; the
	// event stream uses the same URL and token without a timeout).
	BBS   *api.Client
	Table *Table
	// SyncInterval is the full sync period (DefaultSyncInterval when 0).
	SyncInterval time.Duration
	Logger       *slog.Logger

	syncs, events atomic.Uint64
}

// Counts returns the full syncs and the events applied so far.
func (e *Emitter) Counts() (syncs, events uint64) { return e.syncs.Load(), e.events.Load() }

// Sync fetches the whole routing table and installs it, with the events that arrived
// while it was being fetched applied again on top.
func (e *Emitter) Sync(ctx context.Context) error {
	m := e.Table.Mark()
	defer e.Table.Unmark(m)
	var routes []api.Route
	if err := e.BBS.Do(ctx, http.MethodGet, "/v1/routes", nil, &routes); err != nil {
		return fmt.Errorf("route sync: %w", err)
	}
	e.syncs.Add(1)
	return e.Table.SyncSince(m, routes)
}

// Run follows the event stream until ctx ends, with a full sync at start, after any
// event the table cannot apply, after a broken stream and every SyncInterval.
func (e *Emitter) Run(ctx context.Context) {
	log := e.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := e.SyncInterval
	if every <= 0 {
		every = DefaultSyncInterval
	}
	resync := make(chan struct{}, 1)
	ask := func() {
		select {
		case resync <- struct{}{}:
		default:
		}
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				ask()
			}
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-resync:
				if err := e.Sync(ctx); err != nil && ctx.Err() == nil {
					log.Warn("route sync", "err", err)
				}
			}
		}
	}()
	// No timeout on the stream; the BBS client's transport (its TLS, if any).
	stream := &api.Client{URL: e.BBS.Base(), URLs: e.BBS.URLs, Token: e.BBS.Token, HTTP: &http.Client{Transport: e.BBS.HTTP.Transport}}
	for ctx.Err() == nil {
		err := e.follow(ctx, stream, ask)
		if ctx.Err() != nil {
			return
		}
		log.Warn("event stream broken, resyncing", "err", err)
		ask()
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// follow reads the event stream; the stream is opened before the sync it asks for,
// so no change falls between the two.
func (e *Emitter) follow(ctx context.Context, stream *api.Client, ask func()) error {
	body, err := stream.Stream(ctx, "/v1/events") // from the active BBS of a pair
	if err != nil {
		return err
	}
	defer body.Close()
	ask()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var ev api.ActualEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("event %q: %w", sc.Text(), err)
		}
		e.events.Add(1)
		if !e.Table.Apply(ev) {
			ask()
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("event stream ended")
}
