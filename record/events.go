package record

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Event types of events.jsonl.
const (
	TypeActualLRP  = "actual_lrp"
	TypeDesiredLRP = "desired_lrp"
	TypeTask       = "task"
	TypeCell       = "cell"
	TypeAuction    = "auction"
	TypeTimeline   = "timeline"
	TypeVersion    = "version"
)

// Change says what happened to the record an event describes.
const (
	ChangeCreated = "created"
	ChangeChanged = "changed"
	ChangeRemoved = "removed"
)

// Event is one line of events.jsonl as read back: the union of every type's fields.
// Writers emit only the fields of the event's type (see EventWriter).
type Event struct {
	T      float64 `json:"t"`
	Type   string  `json:"type"`
	Change string  `json:"change"`

	// actual_lrp, desired_lrp
	ProcessGUID    string `json:"process_guid"`
	Index          int    `json:"index"`
	InstanceGUID   string `json:"instance_guid"`
	State          string `json:"state"`
	Presence       string `json:"presence"`
	CellID         string `json:"cell_id"`
	CrashCount     int    `json:"crash_count"`
	CrashReason    string `json:"crash_reason"`
	PlacementError string `json:"placement_error"`
	Instances      int    `json:"instances"`

	// task
	TaskGUID       string `json:"task_guid"`
	Failed         bool   `json:"failed"`
	FailureReason  string `json:"failure_reason"`
	RejectionCount int    `json:"rejection_count"`

	// cell
	Zone string `json:"zone"`

	// auction
	LRPs        int     `json:"lrps"`
	Tasks       int     `json:"tasks"`
	LRPsPlaced  int     `json:"lrps_placed"`
	LRPsFailed  int     `json:"lrps_failed"`
	TasksPlaced int     `json:"tasks_placed"`
	TasksFailed int     `json:"tasks_failed"`
	MeanWait    float64 `json:"mean_wait"`

	// timeline
	Action string `json:"action"`
	Target string `json:"target"`

	// version (process_guid, instances)
	Digest string `json:"digest"`
}

// EventWriter appends events to events.jsonl. It formats each line by hand (no
// reflection) because large runs write millions of lines. A nil *EventWriter, or one
// created disabled, accepts every call and writes nothing.
type EventWriter struct {
	w     *bufio.Writer
	f     *os.File
	buf   []byte
	count uint64
	err   error
}

// CreateEventWriter creates dir/events.jsonl.
func CreateEventWriter(dir string) (*EventWriter, error) {
	f, err := os.Create(filepath.Join(dir, EventsFile))
	if err != nil {
		return nil, err
	}
	return &EventWriter{w: bufio.NewWriterSize(f, 1<<20), f: f}, nil
}

// NewEventWriter writes to w (tests, pipes).
func NewEventWriter(w io.Writer) *EventWriter {
	return &EventWriter{w: bufio.NewWriterSize(w, 1<<16)}
}

// Count is the number of events written.
func (e *EventWriter) Count() uint64 {
	if e == nil {
		return 0
	}
	return e.count
}

// Close flushes and closes the file; it returns the first error seen.
func (e *EventWriter) Close() error {
	if e == nil {
		return nil
	}
	if err := e.w.Flush(); err != nil && e.err == nil {
		e.err = err
	}
	if e.f != nil {
		if err := e.f.Close(); err != nil && e.err == nil {
			e.err = err
		}
	}
	return e.err
}

func (e *EventWriter) begin(t time.Duration, typ, change string) {
	b := e.buf[:0]
	b = append(b, `{"t":`...)
	b = strconv.AppendFloat(b, t.Seconds(), 'f', -1, 64)
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if change != "" {
		b = append(b, `,"change":"`...)
		b = append(b, change...)
		b = append(b, '"')
	}
	e.buf = b
}

func (e *EventWriter) str(key, v string) {
	e.buf = append(e.buf, ',', '"')
	e.buf = append(e.buf, key...)
	e.buf = append(e.buf, '"', ':')
	e.buf = strconv.AppendQuote(e.buf, v)
}

func (e *EventWriter) num(key string, v int) {
	e.buf = append(e.buf, ',', '"')
	e.buf = append(e.buf, key...)
	e.buf = append(e.buf, '"', ':')
	e.buf = strconv.AppendInt(e.buf, int64(v), 10)
}

func (e *EventWriter) float(key string, v float64) {
	e.buf = append(e.buf, ',', '"')
	e.buf = append(e.buf, key...)
	e.buf = append(e.buf, '"', ':')
	e.buf = strconv.AppendFloat(e.buf, v, 'f', -1, 64)
}

func (e *EventWriter) boolean(key string, v bool) {
	e.buf = append(e.buf, ',', '"')
	e.buf = append(e.buf, key...)
	e.buf = append(e.buf, '"', ':')
	e.buf = strconv.AppendBool(e.buf, v)
}

func (e *EventWriter) end() {
	e.buf = append(e.buf, '}', '\n')
	if e.err == nil {
		_, e.err = e.w.Write(e.buf)
	}
	e.count++
}

// ActualLRP describes one instance row after a change.
type ActualLRP struct {
	ProcessGUID, InstanceGUID, CellID string
	Index, CrashCount                 int
	State, Presence                   string
	CrashReason, PlacementError       string
}

// WriteActualLRP writes an actual_lrp event.
func (e *EventWriter) WriteActualLRP(t time.Duration, change string, a ActualLRP) {
	if e == nil {
		return
	}
	e.begin(t, TypeActualLRP, change)
	e.str("process_guid", a.ProcessGUID)
	e.num("index", a.Index)
	e.str("instance_guid", a.InstanceGUID)
	e.str("state", a.State)
	e.str("presence", a.Presence)
	e.str("cell_id", a.CellID)
	e.num("crash_count", a.CrashCount)
	if a.CrashReason != "" {
		e.str("crash_reason", a.CrashReason)
	}
	e.str("placement_error", a.PlacementError)
	e.end()
}

// WriteDesiredLRP writes a desired_lrp event.
func (e *EventWriter) WriteDesiredLRP(t time.Duration, change, processGUID string, instances int) {
	if e == nil {
		return
	}
	e.begin(t, TypeDesiredLRP, change)
	e.str("process_guid", processGUID)
	e.num("instances", instances)
	e.end()
}

// Task describes one task after a change.
type Task struct {
	TaskGUID, State, CellID, FailureReason string
	Failed                                 bool
	RejectionCount                         int
}

// WriteTask writes a task event.
func (e *EventWriter) WriteTask(t time.Duration, change string, k Task) {
	if e == nil {
		return
	}
	e.begin(t, TypeTask, change)
	e.str("task_guid", k.TaskGUID)
	e.str("state", k.State)
	e.str("cell_id", k.CellID)
	e.boolean("failed", k.Failed)
	e.str("failure_reason", k.FailureReason)
	e.num("rejection_count", k.RejectionCount)
	e.end()
}

// Cell states written in cell events.
const (
	CellUp          = "up"          // present and taking work
	CellLost        = "lost"        // presence expired: crashed or partitioned
	CellCrashed     = "crashed"     // the cell (and its containers) died
	CellPartitioned = "partitioned" // cut off: containers keep running
	CellEvacuating  = "evacuating"  // draining
	CellDown        = "down"        // drained or stopped
)

// WriteCell writes a cell event.
func (e *EventWriter) WriteCell(t time.Duration, cellID, zone, state string) {
	if e == nil {
		return
	}
	e.begin(t, TypeCell, "")
	e.str("cell_id", cellID)
	e.str("zone", zone)
	e.str("state", state)
	e.end()
}

// Auction describes one auction batch.
type Auction struct {
	LRPs, Tasks                                      int
	LRPsPlaced, LRPsFailed, TasksPlaced, TasksFailed int
	MeanWait                                         float64
}

// WriteAuction writes an auction event.
func (e *EventWriter) WriteAuction(t time.Duration, a Auction) {
	if e == nil {
		return
	}
	e.begin(t, TypeAuction, "")
	e.num("lrps", a.LRPs)
	e.num("tasks", a.Tasks)
	e.num("lrps_placed", a.LRPsPlaced)
	e.num("lrps_failed", a.LRPsFailed)
	e.num("tasks_placed", a.TasksPlaced)
	e.num("tasks_failed", a.TasksFailed)
	e.float("mean_wait", a.MeanWait)
	e.end()
}

// WriteTimeline writes a timeline event: an action of the scenario (scale, a fault ...).
func (e *EventWriter) WriteTimeline(t time.Duration, action, target string) {
	if e == nil {
		return
	}
	e.begin(t, TypeTimeline, "")
	e.str("action", action)
	e.str("target", target)
	e.end()
}

// WriteVersion writes a version event: the number of running instances of an app that
// run one image digest (or droplet), whenever it changes; 0 when the last one stopped.
func (e *EventWriter) WriteVersion(t time.Duration, processGUID, digest string, instances int) {
	if e == nil {
		return
	}
	e.begin(t, TypeVersion, "")
	e.str("process_guid", processGUID)
	e.str("digest", digest)
	e.num("instances", instances)
	e.end()
}

// ReadEvents calls fn for each event of dir/events.jsonl, in order. An error names the
// line.
func ReadEvents(dir string, fn func(*Event) error) error {
	f, err := os.Open(filepath.Join(dir, EventsFile))
	if err != nil {
		return err
	}
	defer f.Close()
	return DecodeEvents(f, fn)
}

// DecodeEvents is ReadEvents on a reader.
func DecodeEvents(r io.Reader, fn func(*Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("%s line %d: %w", EventsFile, line, err)
		}
		if err := fn(&ev); err != nil {
			return err
		}
	}
	return sc.Err()
}
