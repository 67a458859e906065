package api

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Log sources (Diego's/Loggregator's source types).
const (
	SourceApp    = "APP"    // the app's stdout/stderr
	SourceStage  = "STG"    // staging output
	SourceCell   = "CELL"   // the rep's messages about an instance
	SourceHealth = "HEALTH" // health check results
	SourceRouter = "RTR"    // the router's access log
)

// Log streams.
const (
	StreamOut = "OUT"
	StreamErr = "ERR"
)

// LogLine is one line of an app's log stream (wire format: one JSON object per line).
type LogLine struct {
	// Seq is the line's position in its app's stream (set by the log service).
	Seq    uint64    `json:"seq,omitempty"`
	App    string    `json:"app"`
	Source string    `json:"source"`
	Index  int       `json:"index"`
	Stream string    `json:"stream"`
	Text   string    `json:"text"`
	At     time.Time `json:"at"`
}

// MaxLogText bounds one line's text (longer lines are cut).
const MaxLogText = 64 << 10

// MaxLogApp bounds a line's app name (app names have at most 40 bytes).
const MaxLogApp = 64

// Validate checks a line arriving at the log service.
func (l *LogLine) Validate() error {
	switch {
	case l.App == "":
		return fmt.Errorf("app: must not be empty")
	case len(l.App) > MaxLogApp:
		return fmt.Errorf("app: %d bytes, at most %d", len(l.App), MaxLogApp)
	case l.Source != SourceApp && l.Source != SourceStage && l.Source != SourceCell && l.Source != SourceHealth && l.Source != SourceRouter:
		return fmt.Errorf("source: %q, want APP, STG, CELL, HEALTH or RTR", l.Source)
	case l.Stream != StreamOut && l.Stream != StreamErr:
		return fmt.Errorf("stream: %q, want OUT or ERR", l.Stream)
	case l.Index < 0:
		return fmt.Errorf("index: must be >= 0, got %d", l.Index)
	case len(l.Text) > MaxLogText:
		return fmt.Errorf("text: %d bytes, at most %d", len(l.Text), MaxLogText)
	case l.At.IsZero():
		return fmt.Errorf("at: must be set")
	}
	return nil
}

// Format renders the line as `cf logs` does: "timestamp [SOURCE/index] OUT|ERR text",
// with the text's control characters made visible (Printable).
func (l *LogLine) Format() string {
	return fmt.Sprintf("%s [%s/%d] %s %s", l.At.Format("2006-01-02T15:04:05.00-0700"), l.Source, l.Index, l.Stream, Printable(l.Text))
}

// Printable returns s with every control character but tab (C0, DEL, C1: what a
// terminal would act on, e.g. ESC ]0;title BEL setting the window title) written as
// a Go escape (\x1b, \u009b), and invalid UTF-8 bytes as \xNN, so that an app's
// output cannot drive the terminal of whoever reads its logs.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r != '\t' && unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r != '\t' && unicode.IsControl(r):
			if r < 0x80 {
				fmt.Fprintf(&b, "\\x%02x", r)
			} else {
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// LogStats is GET /v1/apps/NAME/logs/stats: what the log service holds for an app.
type LogStats struct {
	App string `json:"app"`
	// Received counts every line accepted for the app; Dropped those pushed out of
	// the full buffer (oldest first); Buffered = Received - Dropped (<= Bound).
	Received uint64 `json:"received"`
	Dropped  uint64 `json:"dropped"`
	Buffered int    `json:"buffered"`
	Bound    int    `json:"bound"`
	// DrainErrors counts lines a drain could not deliver.
	DrainErrors uint64 `json:"drain_errors"`
}

// Health check types (Diego's).
const (
	HealthPort    = "port"
	HealthProcess = "process"
	HealthHTTP    = "http"
)

// Health check bounds: a check cannot run more often than MinHealthInterval (the
// rep would do nothing else), and an instance cannot take longer than
// MaxStartTimeout to become healthy.
const (
	MinHealthInterval = 100 * time.Millisecond
	MaxHealthInterval = time.Hour
	MaxStartTimeout   = 180 * time.Second
	MaxHealthPath     = 1024
)

// HealthCheck is an app's health check.
type HealthCheck struct {
	// Type is port (default), process or http.
	Type string `json:"type,omitempty"`
	// Path is the http check's path (default "/").
	Path string `json:"path,omitempty"`
	// Interval between checks once RUNNING (default 30 s).
	Interval time.Duration `json:"interval,omitempty"`
	// StartTimeout bounds the time to the first passing check (default 60 s).
	StartTimeout time.Duration `json:"start_timeout,omitempty"`
}

// Validate checks the check's fields.
func (h *HealthCheck) Validate() error {
	switch h.Type {
	case "", HealthPort, HealthProcess, HealthHTTP:
	default:
		return fmt.Errorf("health_check.type: %q, want port, process or http", h.Type)
	}
	if h.Path != "" && (h.Type != HealthHTTP || !strings.HasPrefix(h.Path, "/")) {
		return fmt.Errorf("health_check.path: %q only applies to an http check and must start with /", h.Path)
	}
	if h.Interval < 0 || h.StartTimeout < 0 {
		return fmt.Errorf("health_check: interval and start_timeout must be >= 0")
	}
	if len(h.Path) > MaxHealthPath {
		return fmt.Errorf("health_check.path: %d bytes, at most %d", len(h.Path), MaxHealthPath)
	}
	if h.Interval != 0 && (h.Interval < MinHealthInterval || h.Interval > MaxHealthInterval) {
		return fmt.Errorf("health_check.interval: %v, want %v to %v (or 0: the rep's default)", h.Interval, MinHealthInterval, MaxHealthInterval)
	}
	if h.StartTimeout > MaxStartTimeout {
		return fmt.Errorf("health_check.start_timeout: %v is beyond the limit of %v (Cloud Controller's maximum_health_check_timeout)", h.StartTimeout, MaxStartTimeout)
	}
	return nil
}

// Route is one entry of the routing table: the hosts of an app and its routable
// instances (GET /v1/routes).
type Route struct {
	App         string     `json:"app"`
	ProcessGUID string     `json:"process_guid"`
	Hosts       []string   `json:"hosts"`
	Endpoints   []Endpoint `json:"endpoints"`
}

// Endpoint is one routable instance.
type Endpoint struct {
	InstanceGUID string `json:"instance_guid"`
	Index        int    `json:"index"`
	Address      string `json:"address"`
	Evacuating   bool   `json:"evacuating,omitempty"`
}

// ActualEvent is one line of the BBS event stream (GET /v1/events): an ActualLRP
// change, or a desired change ("desired"), after which a route emitter resyncs.
type ActualEvent struct {
	// Type is ActualLRPCreated, ActualLRPChanged, ActualLRPRemoved, DesiredLRPCreated,
	// DesiredLRPChanged, DesiredLRPRemoved or "heartbeat".
	Type         string `json:"type"`
	ProcessGUID  string `json:"process_guid,omitempty"`
	Index        int    `json:"index"`
	InstanceGUID string `json:"instance_guid,omitempty"`
	CellID       string `json:"cell_id,omitempty"`
	State        string `json:"state,omitempty"`
	Presence     string `json:"presence,omitempty"`
	Address      string `json:"address,omitempty"`
}

// Routable reports whether an actual LRP in this state takes traffic: RUNNING and
// ORDINARY, or RUNNING and EVACUATING (until its replacement runs and the
// evacuating row is removed).
func (e *ActualEvent) Routable() bool {
	return e.Type != "ActualLRPRemoved" && e.State == "RUNNING" && (e.Presence == "ORDINARY" || e.Presence == "EVACUATING")
}
