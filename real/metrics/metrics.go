package metrics

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/diegolab/diegolab/model/rep"
)

// LRPCounts are the BBS's LRP figures at one instant.
type LRPCounts struct {
	Desired, Running, Missing, Extra, Crashed, Claimed, Unclaimed, PresentCells int
}

// BBS holds the BBS's metrics.
type BBS struct {
	Registry            *prometheus.Registry
	ConvergenceDuration prometheus.Histogram
	AuctionDuration     prometheus.Histogram
	FetchStatesDuration prometheus.Histogram
	LRPAuctionsStarted  prometheus.Counter
	LRPAuctionsFailed   prometheus.Counter
	TaskAuctionsStarted prometheus.Counter
	TaskAuctionsFailed  prometheus.Counter
	RequestLatency      *prometheus.HistogramVec
}

// durations are histogram buckets from 1 ms to ~33 s.
var durations = prometheus.ExponentialBuckets(0.001, 2, 16)

type funcCollector struct {
	descs []*prometheus.Desc
	read  func() []float64
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	vals := c.read()
	for i, d := range c.descs {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, vals[i])
	}
}

// NewBBS registers the BBS's metrics; lrps and logs are read at every scrape.
func NewBBS(lrps func() LRPCounts, logs func() (received, dropped uint64)) *BBS {
	reg := prometheus.NewRegistry()
	m := &BBS{Registry: reg,
		ConvergenceDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "diegolab_convergence_lrp_duration_seconds",
			Help: "Duration of one convergence pass (Diego's ConvergenceLRPDuration).", Buckets: durations}),
		AuctionDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "diegolab_auction_duration_seconds",
			Help: "Duration of one auction round: cell states fetched, placed, work sent.", Buckets: durations}),
		FetchStatesDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "diegolab_auction_fetch_states_duration_seconds",
			Help: "Time to fetch every cell's state for an auction (AuctioneerFetchStatesDuration).", Buckets: durations}),
		LRPAuctionsStarted:  prometheus.NewCounter(prometheus.CounterOpts{Name: "diegolab_auction_lrps_started_total", Help: "LRP instances placed by auctions."}),
		LRPAuctionsFailed:   prometheus.NewCounter(prometheus.CounterOpts{Name: "diegolab_auction_lrps_failed_total", Help: "LRP instances auctions could not place."}),
		TaskAuctionsStarted: prometheus.NewCounter(prometheus.CounterOpts{Name: "diegolab_auction_tasks_started_total", Help: "Tasks placed by auctions."}),
		TaskAuctionsFailed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "diegolab_auction_tasks_failed_total", Help: "Tasks auctions could not place."}),
		RequestLatency:      newLatency(),
	}
	names := []struct{ name, help string }{
		{"diegolab_lrps_desired", "Instances desired over all started apps (sum of DesiredLRP instances)."},
		{"diegolab_lrps_running", "ORDINARY ActualLRPs RUNNING."},
		{"diegolab_lrps_missing", "Desired instances with no ORDINARY ActualLRP."},
		{"diegolab_lrps_extra", "ORDINARY ActualLRPs beyond the desired count or without a DesiredLRP."},
		{"diegolab_lrps_crashed", "ActualLRPs CRASHED."},
		{"diegolab_lrps_claimed", "ORDINARY ActualLRPs CLAIMED."},
		{"diegolab_lrps_unclaimed", "ORDINARY ActualLRPs UNCLAIMED."},
		{"diegolab_cells_present", "Cells with a presence."},
	}
	fc := &funcCollector{read: func() []float64 {
		c := lrps()
		return []float64{float64(c.Desired), float64(c.Running), float64(c.Missing), float64(c.Extra), float64(c.Crashed),
			float64(c.Claimed), float64(c.Unclaimed), float64(c.PresentCells)}
	}}
	for _, n := range names {
		fc.descs = append(fc.descs, prometheus.NewDesc(n.name, n.help, nil, nil))
	}
	reg.MustRegister(fc, m.ConvergenceDuration, m.AuctionDuration, m.FetchStatesDuration, m.LRPAuctionsStarted, m.LRPAuctionsFailed,
		m.TaskAuctionsStarted, m.TaskAuctionsFailed, m.RequestLatency,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "diegolab_log_lines_received_total", Help: "Log lines the log service accepted."},
			func() float64 { r, _ := logs(); return float64(r) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "diegolab_log_lines_dropped_total", Help: "Log lines pushed out of full app buffers."},
			func() float64 { _, d := logs(); return float64(d) }),
	)
	return m
}

func newLatency() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "diegolab_request_latency_seconds",
		Help: "API request latency by method, route and status (Diego's RequestLatency).", Buckets: durations}, []string{"method", "route", "code"})
}

// Rep holds a rep's metrics.
type Rep struct {
	Registry            *prometheus.Registry
	BulkSyncDuration    prometheus.Histogram
	HealthCheckFailures prometheus.Counter
	RequestLatency      *prometheus.HistogramVec
}

// NewRep registers a rep's metrics; containers (state -> count) and logs are read at
// every scrape.
func NewRep(cell string, containers func() map[string]int, logs func() (shipped, dropped uint64)) *Rep {
	reg := prometheus.NewRegistry()
	labels := prometheus.Labels{"cell": cell}
	m := &Rep{Registry: reg,
		BulkSyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "diegolab_rep_bulk_sync_duration_seconds",
			Help: "Duration of one bulk sync (RepBulkSyncDuration).", Buckets: durations, ConstLabels: labels}),
		HealthCheckFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "diegolab_rep_health_check_failures_total",
			Help: "Instances crashed by a failing health check (start timeout or liveness).", ConstLabels: labels}),
		RequestLatency: newLatency(),
	}
	var states []string // the rep's container phases (model/rep), in lifecycle order
	for ph := rep.Reserved; ph <= rep.Completed; ph++ {
		states = append(states, ph.String())
	}
	desc := prometheus.NewDesc("diegolab_rep_containers", "Containers on the cell by state.", []string{"state"}, labels)
	reg.MustRegister(m.BulkSyncDuration, m.HealthCheckFailures, m.RequestLatency, &stateCollector{desc: desc, states: states, read: containers},
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "diegolab_rep_log_lines_shipped_total", Help: "Log lines posted to the log service.", ConstLabels: labels},
			func() float64 { s, _ := logs(); return float64(s) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "diegolab_rep_log_lines_dropped_total", Help: "Log lines the log service did not take.", ConstLabels: labels},
			func() float64 { _, d := logs(); return float64(d) }),
	)
	return m
}

type stateCollector struct {
	desc   *prometheus.Desc
	states []string
	read   func() map[string]int
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.read()
	for _, s := range c.states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(m[s]), s)
	}
}

// Handler serves reg as Prometheus text.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *codeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *codeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Route reduces a path to a low-cardinality label: its first two segments
// ("/v1/apps/web/scale" -> "/v1/apps").
func Route(path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return "/" + strings.Join(parts, "/")
}

// Measure wraps h, observing each request's latency in vec. Streams (long-lived
// GETs of events and followed logs) are left out: their duration is not a latency.
func Measure(h http.Handler, vec *prometheus.HistogramVec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/events" || r.URL.Query().Get("follow") != "" {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		cw := &codeWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		if cw.code == 0 {
			cw.code = http.StatusOK
		}
		vec.WithLabelValues(r.Method, Route(r.URL.Path), strconv.Itoa(cw.code)).Observe(time.Since(start).Seconds())
	})
}
