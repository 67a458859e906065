package control

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
)

// Empty must look at every field of Ready: a field added later and forgotten there
// would make a driver stop draining with work left.
func TestReadyEmpty(t *testing.T) {
	var r Ready
	if !r.Empty() {
		t.Fatal("zero Ready is not empty")
	}
	typ := reflect.TypeFor[Ready]()
	for i := range typ.NumField() {
		var r Ready
		f := reflect.ValueOf(&r).Elem().Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		default:
			t.Fatalf("field %s: kind %s not covered by this test", typ.Field(i).Name, f.Kind())
		}
		if r.Empty() {
			t.Errorf("Ready with only %s set is empty", typ.Field(i).Name)
		}
	}
}

// logSink writes every call as a line; Perform claims the work's LRPs and starts and
// completes its tasks, as a rep would.
type logSink struct {
	p        *Plane
	log      []string
	answer   bool
	failWith error
}

func (k *logSink) add(format string, a ...any) { k.log = append(k.log, fmt.Sprintf(format, a...)) }

func (k *logSink) Events(_ time.Duration, evs []bbs.Event) error {
	for _, ev := range evs {
		switch {
		case ev.Actual != nil:
			k.add("event %s %s/%d %s", ev.Type, ev.Actual.ProcessGUID, ev.Actual.Index, ev.Actual.State)
		case ev.Desired != nil:
			k.add("event %s %s", ev.Type, ev.Desired.ProcessGUID)
		case ev.Task != nil:
			k.add("event %s %s %s", ev.Type, ev.Task.GUID, ev.Task.State)
		}
	}
	return k.failWith
}

func (k *logSink) Observe(_ time.Duration, r Ready) error {
	for _, id := range r.PresenceGained {
		k.add("gained %s", id)
	}
	for _, id := range r.PresenceLost {
		k.add("lost %s", id)
	}
	for _, a := range r.Auctions {
		k.add("auction lrps=%d placed=%d tasks=%d placed=%d", a.LRPs, a.LRPsPlaced, a.Tasks, a.TasksPlaced)
	}
	if len(r.Converged) > 0 {
		k.add("converged %d", len(r.Converged))
	}
	return nil
}

func (k *logSink) StartAuction(time.Duration) { k.add("start auction") }

func (k *logSink) Perform(now time.Duration, w Work) error {
	k.add("perform %s lrps=%d tasks=%d", w.CellID, len(w.LRPs), len(w.Tasks))
	for _, l := range w.LRPs {
		ik := model.InstanceKey{InstanceGUID: l.InstanceGUID, CellID: w.CellID}
		if err := k.p.ClaimLRP(now, model.ActualLRPKey{ProcessGUID: l.ProcessGUID, Index: l.Index}, ik); err != nil {
			return err
		}
	}
	for _, t := range w.Tasks {
		if ok, err := k.p.StartTask(now, t.GUID, w.CellID); err != nil || !ok {
			return fmt.Errorf("start task %s: %v %v", t.GUID, ok, err)
		}
		if err := k.p.CompleteTask(now, t.GUID, w.CellID, false, "", "done"); err != nil {
			return err
		}
	}
	return nil
}

func (k *logSink) StopLRP(_ time.Duration, st bbs.StopLRP) { k.add("stop %s", st.Key) }

func (k *logSink) CancelTask(_ time.Duration, c bbs.CancelTask) { k.add("cancel %s", c.GUID) }

func (k *logSink) Callback(_ time.Duration, t model.Task) (bool, error) {
	k.add("callback %s answered=%v", t.GUID, k.answer)
	return k.answer, nil
}

// planeWithCells is a plane whose own view holds two cells, heartbeating.
func planeWithCells(t *testing.T) *Plane {
	t.Helper()
	p := newPlane(t)
	st := cells(t, 2, 1024)
	for _, c := range st.Cells() {
		if _, err := p.Cells().AddCell(c); err != nil {
			t.Fatal(err)
		}
		p.Heartbeat(0, c.ID)
	}
	return p
}

func drain(t *testing.T, now time.Duration, p *Plane, k *logSink) string {
	t.Helper()
	k.log = nil
	if err := Drain(now, p, k); err != nil {
		t.Fatal(err)
	}
	if r := p.Ready(); !r.Empty() {
		t.Fatalf("Ready not empty after Drain: %+v", r)
	}
	return strings.Join(k.log, "\n")
}

// One round trip through Drain: the desire's events and the presence first, then the
// auction asked for; after RunAuction on the plane's own view, the round, then each
// cell's work with the claims it made recorded before the next cell's work.
func TestDrainOrder(t *testing.T) {
	p := planeWithCells(t)
	k := &logSink{p: p, answer: true}
	if err := p.DesireLRP(0, lrp("web", 2, 512)); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"event DesiredLRPCreated web",
		"event ActualLRPCreated web/0 UNCLAIMED",
		"event ActualLRPCreated web/1 UNCLAIMED",
		"gained cell-a",
		"gained cell-b",
		"start auction",
	}, "\n")
	if got := drain(t, 0, p, k); got != want {
		t.Fatalf("first drain:\n%s\nwant:\n%s", got, want)
	}
	p.RunAuction(s, nil)
	got := drain(t, s, p, k)
	want = strings.Join([]string{
		"auction lrps=2 placed=2 tasks=0 placed=0",
		"perform cell-a lrps=1 tasks=0",
		"event ActualLRPChanged web/%d CLAIMED",
		"perform cell-b lrps=1 tasks=0",
		"event ActualLRPChanged web/%d CLAIMED",
	}, "\n")
	// The spread puts one instance on each cell; which index goes where is the
	// algorithm's business.
	if got != fmt.Sprintf(want, 0, 1) && got != fmt.Sprintf(want, 1, 0) {
		t.Fatalf("auction drain:\n%s\nwant (indices in either order):\n%s", got, want)
	}
	// The view was reserved against: 2 x 512 MB out of 2 x 1024 MB.
	free := 0
	for _, c := range p.Cells().List() {
		free += c.Available.MemoryMB
	}
	if free != 1024 {
		t.Fatalf("view has %d MB free after the auction, want 1024", free)
	}
	if err := p.ScaleLRP(2*s, "web", 1); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, 2*s, p, k); !strings.Contains(got, "stop web/1") {
		t.Fatalf("scale-down drain has no stop of web/1:\n%s", got)
	}
}

// A completed task's callback: answered, the plane resolves and deletes the task (two
// more events in the same drain); unanswered, the task stays COMPLETED.
func TestDrainCallback(t *testing.T) {
	for _, answered := range []bool{true, false} {
		t.Run(fmt.Sprint("answered=", answered), func(t *testing.T) {
			p := planeWithCells(t)
			k := &logSink{p: p, answer: answered}
			task := model.Task{GUID: "job", Domain: "d", State: model.TaskPending, MemoryMB: 64, DiskMB: 64, RootFS: "preloaded:cflinuxfs4"}
			if err := p.DesireTask(0, task); err != nil {
				t.Fatal(err)
			}
			drain(t, 0, p, k)
			p.RunAuction(s, nil)
			got := drain(t, s, p, k)
			tk, ok := p.BBS().Task("job")
			if answered {
				if ok {
					t.Fatalf("answered task still in the BBS as %s\n%s", tk.State, got)
				}
				if !strings.HasSuffix(got, "callback job answered=true\nevent TaskChanged job RESOLVING\nevent TaskRemoved job RESOLVING") {
					t.Fatalf("drain does not end with the callback, resolving and removal:\n%s", got)
				}
				return
			}
			if !ok || tk.State != model.TaskCompleted {
				t.Fatalf("unanswered task: found %v, state %s; want COMPLETED", ok, tk.State)
			}
		})
	}
}

// TaskCallbackAnswered leaves a task that is not COMPLETED alone: a refusal, not an error.
func TestTaskCallbackAnsweredRefusal(t *testing.T) {
	p := newPlane(t)
	if err := p.TaskCallbackAnswered(0, "nope"); err != nil {
		t.Fatalf("unknown task: %v, want nil (a refusal)", err)
	}
	if err := p.DesireTask(0, model.Task{GUID: "job", Domain: "d", State: model.TaskPending, MemoryMB: 64, DiskMB: 64, RootFS: "preloaded:cflinuxfs4"}); err != nil {
		t.Fatal(err)
	}
	if err := p.TaskCallbackAnswered(0, "job"); err != nil {
		t.Fatalf("pending task: %v, want nil", err)
	}
	if tk, _ := p.BBS().Task("job"); tk.State != model.TaskPending {
		t.Fatalf("pending task became %s", tk.State)
	}
}

// A sink's error stops the drain and comes back from it.
func TestDrainSinkError(t *testing.T) {
	p := planeWithCells(t)
	boom := errors.New("disk full")
	k := &logSink{p: p, failWith: boom}
	if err := p.DesireLRP(0, lrp("web", 1, 64)); err != nil {
		t.Fatal(err)
	}
	if err := Drain(0, p, k); !errors.Is(err, boom) {
		t.Fatalf("Drain: %v, want %v", err, boom)
	}
	if strings.Contains(strings.Join(k.log, "\n"), "start auction") {
		t.Fatalf("the drain went on after the error:\n%s", strings.Join(k.log, "\n"))
	}
}

// FlushEvents hands over the events only; the auction request waits for Drain.
func TestFlushEvents(t *testing.T) {
	p := planeWithCells(t)
	k := &logSink{p: p}
	if err := p.DesireLRP(0, lrp("web", 1, 64)); err != nil {
		t.Fatal(err)
	}
	if err := p.FlushEvents(0, k); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(k.log, "\n"); got != "event DesiredLRPCreated web\nevent ActualLRPCreated web/0 UNCLAIMED" {
		t.Fatalf("flushed:\n%s", got)
	}
	if got := drain(t, 0, p, k); got != "gained cell-a\ngained cell-b\nstart auction" {
		t.Fatalf("drain after flush:\n%s", got)
	}
}
