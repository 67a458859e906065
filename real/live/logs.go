package live

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/diegolab/diegolab/real/api"
)

// LogOptions select what StreamLogs returns.
type LogOptions struct {
	// Recent dumps the buffer; Follow streams new lines until ctx ends (both: the
	// buffer, then new lines). After, when > 0, starts right after that sequence number.
	Recent, Follow bool
	After          uint64
}

// LogStats returns the log service's counters for app.
func LogStats(ctx context.Context, cl *api.Client, app string) (api.LogStats, error) {
	var st api.LogStats
	err := cl.Do(ctx, http.MethodGet, "/v1/apps/"+app+"/logs/stats", nil, &st)
	return st, err
}

// StreamLogs calls fn for each of app's lines (in order) until the dump ends or, when
// following, ctx ends. ready, when not nil, is closed once the stream is open.
func StreamLogs(ctx context.Context, cl *api.Client, app string, o LogOptions, ready chan<- struct{}, fn func(api.LogLine)) error {
	q := url.Values{}
	if o.Recent {
		q.Set("recent", "1")
	}
	if o.Follow {
		q.Set("follow", "1")
	}
	if o.After > 0 {
		q.Set("after", strconv.FormatUint(o.After, 10))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cl.URL+"/v1/apps/"+app+"/logs?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cl.Token)
	resp, err := (&http.Client{}).Do(req) // no timeout: a followed stream lasts
	if err != nil {
		return fmt.Errorf("logs %s: API unreachable: %w", app, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e api.Error
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("logs %s: %s: %s", app, resp.Status, e.Message)
	}
	if ready != nil {
		close(ready)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 128<<10), api.MaxLogText*2)
	for sc.Scan() {
		var l api.LogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("logs %s: %w", app, err)
		}
		fn(l)
	}
	if ctx.Err() != nil {
		return nil
	}
	return sc.Err()
}
