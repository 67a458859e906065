package metrics

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func scrape(t *testing.T, h http.Handler) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("not Prometheus text: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			key := name
			for _, l := range m.Label {
				if l.GetName() == "state" {
					key += "{" + l.GetValue() + "}"
				}
			}
			out[key] += v
		}
	}
	return out
}

func TestBBSMetrics(t *testing.T) {
	m := NewBBS(func() LRPCounts {
		return LRPCounts{Desired: 5, Running: 3, Missing: 1, Extra: 2, Crashed: 1, Claimed: 1, PresentCells: 2}
	}, func() (uint64, uint64) { return 1500, 500 })
	m.ConvergenceDuration.Observe(0.01)
	m.LRPAuctionsFailed.Add(2)
	h := Measure(http.NotFoundHandler(), m.RequestLatency)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/apps/web/scale", nil))
	got := scrape(t, Handler(m.Registry))
	for name, want := range map[string]float64{
		"diegolab_lrps_desired": 5, "diegolab_lrps_running": 3, "diegolab_lrps_missing": 1, "diegolab_lrps_extra": 2,
		"diegolab_lrps_crashed": 1, "diegolab_lrps_claimed": 1, "diegolab_cells_present": 2,
		"diegolab_log_lines_received_total": 1500, "diegolab_log_lines_dropped_total": 500,
		"diegolab_convergence_lrp_duration_seconds": 1, "diegolab_auction_lrps_failed_total": 2,
		"diegolab_request_latency_seconds": 1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

func TestRepMetrics(t *testing.T) {
	m := NewRep("cell-0", func() map[string]int { return map[string]int{"RUNNING": 2, "CREATED": 1} }, func() (uint64, uint64) { return 7, 1 })
	m.HealthCheckFailures.Inc()
	got := scrape(t, Handler(m.Registry))
	for name, want := range map[string]float64{
		"diegolab_rep_containers{RUNNING}": 2, "diegolab_rep_containers{CREATED}": 1, "diegolab_rep_containers{RESERVED}": 0,
		"diegolab_rep_containers{INITIALIZING}":    0,
		"diegolab_rep_health_check_failures_total": 1, "diegolab_rep_log_lines_shipped_total": 7, "diegolab_rep_log_lines_dropped_total": 1,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}

func TestRoute(t *testing.T) {
	for in, want := range map[string]string{"/v1/apps/web/scale": "/v1/apps", "/state": "/state", "/v1/health": "/v1/health", "/": "/"} {
		if got := Route(in); got != want {
			t.Errorf("Route(%q) = %q, want %q", in, got, want)
		}
	}
}
