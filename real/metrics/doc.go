// Package metrics defines the Prometheus metrics of real mode's BBS and reps (the
// figures Diego operators watch, DIEGO.md §1.5 and §4) on github.com/prometheus/
// client_golang, each component with its own registry, served as Prometheus text on
// GET /metrics.
//
// BBS: diegolab_lrps_{desired,running,missing,extra,crashed,claimed,unclaimed} and
// diegolab_cells_present (computed from the store at scrape time, so they always match
// `diegolab app`), diegolab_convergence_lrp_duration_seconds,
// diegolab_auction_duration_seconds, diegolab_auction_{lrps,tasks}_{started,failed}_total,
// diegolab_auction_fetch_states_duration_seconds, diegolab_request_latency_seconds,
// diegolab_log_lines_{received,dropped}_total.
//
// Rep: diegolab_rep_containers{state}, diegolab_rep_bulk_sync_duration_seconds,
// diegolab_rep_health_check_failures_total, diegolab_rep_log_lines_{shipped,dropped}_total,
// diegolab_request_latency_seconds.
package metrics
