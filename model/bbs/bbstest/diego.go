package bbstest

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/converge"
)

// The ported suite: Diego's own BBS test cases (cloudfoundry/bbs, DIEGO.md's commit),
// rewritten as scripts in testdata/diego/*.txt and run against a BBS over any Store.
// The language is described in testdata/diego/README.md; each "case" line names the
// Diego test it comes from ("file: Describe > Context > It").

//go:embed testdata/diego
var diegoScripts embed.FS

// DiegoCase is one ported case: the Diego test it comes from and its script lines.
type DiegoCase struct {
	File  string // the script file (one area)
	Name  string // "file: Describe > Context > It"
	Line  int    // line of the case in File
	Lines []scriptLine
}

type scriptLine struct {
	n    int
	args []string
}

// DiegoCases parses every script. A parse error names the file and line.
func DiegoCases() ([]DiegoCase, error) {
	files, err := fs.Glob(diegoScripts, "testdata/diego/*.txt")
	if err != nil {
		return nil, err
	}
	var out []DiegoCase
	for _, f := range files {
		data, err := diegoScripts.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var cur *DiegoCase
		for i, raw := range strings.Split(string(data), "\n") {
			line := strings.TrimSpace(raw)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if name, ok := strings.CutPrefix(line, "case "); ok {
				out = append(out, DiegoCase{File: path.Base(f), Name: strings.TrimSpace(name), Line: i + 1})
				cur = &out[len(out)-1]
				continue
			}
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: %q before the first case line", f, i+1, line)
			}
			args, err := splitArgs(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", f, i+1, err)
			}
			cur.Lines = append(cur.Lines, scriptLine{n: i + 1, args: args})
		}
	}
	return out, nil
}

// RunDiegoSuite runs every ported case against a BBS over a fresh store from newStore.
func RunDiegoSuite(t *testing.T, newStore func(t *testing.T) bbs.Store) {
	cases, err := DiegoCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no ported case found in testdata/diego")
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.File, ".txt")+"/"+c.Name, func(t *testing.T) {
			r := &runner{t: t, c: &c, now: time.Hour, cfg: bbs.DefaultConfig()}
			store := newStore(t)
			for _, l := range c.Lines {
				if l.args[0] == "storefail" {
					r.faults = &faultStore{Store: store}
					store = r.faults
					break
				}
			}
			r.store = store
			for _, l := range c.Lines {
				r.line = l.n
				r.exec(l.args)
			}
		})
	}
}

// faultStore fails the named methods on demand (a SQL store's I/O failure).
type faultStore struct {
	bbs.Store
	fail map[string]bool
}

var errInjected = errors.New("injected store failure")

func (f *faultStore) err(m string) error {
	if f.fail[m] {
		return errInjected
	}
	return nil
}

func (f *faultStore) GetActualLRP(k model.ActualLRPKey, p model.Presence) (model.ActualLRP, bool, error) {
	if err := f.err("GetActualLRP"); err != nil {
		return model.ActualLRP{}, false, err
	}
	return f.Store.GetActualLRP(k, p)
}

func (f *faultStore) PutActualLRP(a model.ActualLRP) error {
	if err := f.err("PutActualLRP"); err != nil {
		return err
	}
	return f.Store.PutActualLRP(a)
}

func (f *faultStore) DeleteActualLRP(k model.ActualLRPKey, p model.Presence) error {
	if err := f.err("DeleteActualLRP"); err != nil {
		return err
	}
	return f.Store.DeleteActualLRP(k, p)
}

func (f *faultStore) GetDesiredLRP(g string) (model.DesiredLRP, bool, error) {
	if err := f.err("GetDesiredLRP"); err != nil {
		return model.DesiredLRP{}, false, err
	}
	return f.Store.GetDesiredLRP(g)
}

func (f *faultStore) PutTask(tk model.Task) error {
	if err := f.err("PutTask"); err != nil {
		return err
	}
	return f.Store.PutTask(tk)
}

type runner struct {
	t      *testing.T
	c      *DiegoCase
	line   int
	now    time.Duration
	cfg    bbs.Config
	store  bbs.Store
	faults *faultStore
	b      *bbs.BBS
	cells  []string
	last   bbs.Ready
	err    error
	keep   *bool
	report *bbs.ConvergeReport
}

func (r *runner) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("%s:%d (case at line %d): %s", r.c.File, r.line, r.c.Line, fmt.Sprintf(format, args...))
}

// open opens the BBS over the store once every fixture row is written.
func (r *runner) open() *bbs.BBS {
	if r.b == nil {
		b, err := bbs.Open(r.store, r.cfg)
		if err != nil {
			r.fatalf("open: %v", err)
		}
		r.b = b
		r.b.SetCells(r.cells)
	}
	return r.b
}

// fixture writes a row straight to the store (Diego's tests' db.Exec); only before the
// first operation, since the BBS rebuilds its indexes from the store when it opens.
func (r *runner) fixture(write func() error) {
	if r.b != nil {
		r.fatalf("fixture after the first operation")
	}
	if err := write(); err != nil {
		r.fatalf("fixture: %v", err)
	}
}

// op records the outcome of an operation; injected store failures last for one operation.
func (r *runner) op(err error) {
	if r.faults != nil {
		r.faults.fail = nil
	}
	r.err = err
	r.keep = nil
	r.report = nil
	r.last = r.b.Ready()
}

func (r *runner) exec(a []string) {
	r.t.Helper()
	kv, pos := options(a[1:])
	arg := func(i int) string {
		if i >= len(pos) {
			r.fatalf("%s: argument %d missing", a[0], i+1)
		}
		return pos[i]
	}
	switch a[0] {
	// --- setup ---
	case "config":
		if n, ok := kv["maxretries"]; ok {
			r.cfg.MaxTaskRetries = r.atoi(n)
		}
		if d, ok := kv["kick"]; ok {
			r.cfg.KickTask = r.dur(d)
		}
		if d, ok := kv["expirepending"]; ok {
			r.cfg.ExpirePendingTask = r.dur(d)
		}
		if d, ok := kv["expirecompleted"]; ok {
			r.cfg.ExpireCompletedTask = r.dur(d)
		}
	case "storefail": // storefail Method...: those store methods fail during the next operation
		r.open()
		r.faults.fail = map[string]bool{}
		for _, m := range pos {
			if m != "none" {
				r.faults.fail[m] = true
			}
		}
	case "at":
		r.now = r.dur(arg(0))
	case "advance":
		r.now += r.dur(arg(0))
	case "cells":
		r.cells = nil
		for _, c := range pos {
			if c != "-" {
				r.cells = append(r.cells, c)
			}
		}
		if r.b != nil {
			r.b.SetCells(r.cells)
		}
	case "putdesired":
		d := desired(arg(0), r.atoi(arg(1)), kv)
		r.fixture(func() error { return r.store.PutDesiredLRP(d) })
	case "put":
		row := r.row(a[1:])
		r.fixture(func() error { return r.store.PutActualLRP(row) })
	case "puttask":
		tk := r.task(pos, kv)
		r.fixture(func() error { return r.store.PutTask(tk) })
	case "putdomain": // putdomain NAME ttl=5s | expired | (never)
		d := converge.Domain{Name: arg(0)}
		if v, ok := kv["ttl"]; ok {
			d.ExpiresAt = r.now + r.dur(v)
		}
		if slices.Contains(pos, "expired") {
			d.ExpiresAt = r.now - 5*time.Second
		}
		r.fixture(func() error { return r.store.PutDomain(d) })

	// --- operations ---
	case "upsertdomain":
		r.open()
		r.op(r.b.UpsertDomain(r.now, arg(0), r.dur(kv["ttl"])))
	case "desire":
		r.open()
		r.op(r.b.DesireLRP(r.now, desired(arg(0), r.atoi(arg(1)), kv)))
	case "update":
		r.open()
		r.op(r.b.UpdateDesiredLRP(r.now, arg(0), r.atoi(arg(1))))
	case "remove-desired":
		r.open()
		r.op(r.b.RemoveDesiredLRP(r.now, arg(0)))
	case "claim":
		r.open()
		r.op(r.b.ClaimActualLRP(r.now, r.key(arg(0)), r.ik(arg(1))))
	case "start":
		r.open()
		r.op(r.b.StartActualLRP(r.now, r.key(arg(0)), r.ik(arg(1)), kv["addr"]))
	case "crash":
		r.open()
		r.op(r.b.CrashActualLRP(r.now, r.key(arg(0)), r.ik(arg(1)), kv["reason"]))
	case "fail":
		r.open()
		r.op(r.b.FailActualLRP(r.now, r.key(arg(0)), kv["reason"]))
	case "remove":
		r.open()
		var ik model.InstanceKey
		if len(pos) > 1 {
			ik = r.ik(pos[1])
		}
		r.op(r.b.RemoveActualLRP(r.now, r.key(arg(0)), ik))
	case "retire":
		r.open()
		r.op(r.b.RetireActualLRP(r.now, r.key(arg(0))))
	case "unclaim":
		r.open()
		r.op(r.b.UnclaimActualLRP(r.now, r.key(arg(0))))
	case "evac-claimed", "evac-running", "evac-stopped", "evac-crashed":
		r.open()
		var keep bool
		var err error
		k, ik := r.key(arg(0)), r.ik(arg(1))
		switch a[0] {
		case "evac-claimed":
			keep, err = r.b.EvacuateClaimedActualLRP(r.now, k, ik)
		case "evac-running":
			keep, err = r.b.EvacuateRunningActualLRP(r.now, k, ik, kv["addr"])
		case "evac-stopped":
			keep, err = r.b.EvacuateStoppedActualLRP(r.now, k, ik)
		default:
			keep, err = r.b.EvacuateCrashedActualLRP(r.now, k, ik, kv["reason"])
		}
		r.op(err)
		r.keep = &keep
	case "remove-evac":
		r.open()
		r.op(r.b.RemoveEvacuatingActualLRP(r.now, r.key(arg(0)), r.ik(arg(1))))
	case "converge":
		r.open()
		rep := r.b.Converge(r.now, r.cells)
		r.op(nil)
		r.report = &rep
	case "desire-task":
		r.open()
		r.op(r.b.DesireTask(r.now, r.task([]string{arg(0), "PENDING"}, kv)))
	case "start-task":
		r.open()
		ok, err := r.b.StartTask(r.now, arg(0), arg(1))
		r.op(err)
		r.keep = &ok
	case "reject-task":
		r.open()
		r.op(r.b.RejectTask(r.now, arg(0), kv["reason"]))
	case "complete-task":
		r.open()
		r.op(r.b.CompleteTask(r.now, arg(0), arg(1), kv["failed"] == "true", kv["reason"], kv["result"]))
	case "cancel-task":
		r.open()
		r.op(r.b.CancelTask(r.now, arg(0)))
	case "fail-task":
		r.open()
		r.op(r.b.FailTask(r.now, arg(0), kv["reason"]))
	case "resolving-task":
		r.open()
		r.op(r.b.ResolvingTask(r.now, arg(0)))
	case "delete-task":
		r.open()
		r.op(r.b.DeleteTask(r.now, arg(0)))

	// --- expectations ---
	case "err":
		r.expectErr(arg(0))
	case "keep", "should-start":
		if r.keep == nil {
			r.fatalf("%s: the last operation answers no such bool", a[0])
		}
		if want := arg(0) == "true"; *r.keep != want {
			r.fatalf("%s = %v, want %v (err %v)", a[0], *r.keep, want, r.err)
		}
	case "row":
		r.expectRow(a[1:])
	case "norow": // norow KEY PRESENCE
		r.open()
		if got, ok := r.b.ActualLRP(r.key(arg(0)), r.presence(arg(1))); ok {
			r.fatalf("row %s %s exists: %+v", arg(0), arg(1), got)
		}
	case "rows": // rows GUID N: the number of rows of the process
		r.open()
		if got := len(r.b.ActualLRPs(arg(0))); got != r.atoi(arg(1)) {
			r.fatalf("rows of %s = %d, want %s: %+v", arg(0), got, arg(1), r.b.ActualLRPs(arg(0)))
		}
	case "task":
		r.expectTask(pos, kv)
	case "notask":
		r.open()
		if got, ok := r.b.Task(arg(0)); ok {
			r.fatalf("task %s exists: %+v", arg(0), got)
		}
	case "starts":
		var got []string
		for _, s := range r.last.LRPStarts {
			got = append(got, s.Key.String())
		}
		r.expectList("lrp starts", got, pos)
	case "taskstarts":
		var got []string
		for _, s := range r.last.TaskStarts {
			got = append(got, s.GUID)
		}
		r.expectList("task starts", got, pos)
	case "stops":
		var got []string
		for _, s := range r.last.StopLRPs {
			got = append(got, s.Key.String()+"@"+s.InstanceKey.InstanceGUID+"@"+s.InstanceKey.CellID)
		}
		r.expectList("stops", got, pos)
	case "cancels":
		var got []string
		for _, c := range r.last.CancelTasks {
			got = append(got, c.GUID+"@"+c.CellID)
		}
		r.expectList("cancels", got, pos)
	case "callbacks":
		var got []string
		for _, c := range r.last.Callbacks {
			got = append(got, c.GUID)
		}
		r.expectList("callbacks", got, pos)
	case "events":
		var got []string
		for _, e := range r.last.Events {
			got = append(got, eventString(e))
		}
		r.expectList("events", got, pos)
	case "report":
		r.expectReport(kv)
	case "plan":
		r.expectPlan(kv)
	case "counts": // counts PRESENCE STATE=N ...: rows by presence and state
		r.open()
		p := r.presence(arg(0))
		for k, v := range kv {
			if got := r.b.Counts(p, r.state(k)); got != r.atoi(v) {
				r.fatalf("%s %s rows = %d, want %s", arg(0), k, got, v)
			}
		}
	case "passes": // passes N: convergence passes run
		r.open()
		if got := r.b.Stats().ConvergePasses; got != r.atoi(arg(0)) {
			r.fatalf("convergence passes = %d, want %s", got, arg(0))
		}
	case "domains":
		r.open()
		ds, err := r.b.Domains()
		if err != nil {
			r.fatalf("domains: %v", err)
		}
		var got []string
		for _, d := range ds {
			got = append(got, d.Name)
		}
		r.expectList("domains", got, pos)
	default:
		r.fatalf("unknown command %q", a[0])
	}
}

func eventString(e bbs.Event) string {
	typ := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(e.Type.String(), "ActualLRP"), "DesiredLRP"), "Task")
	switch {
	case e.Actual != nil:
		return "actual-" + strings.ToLower(typ) + ":" + e.Actual.ActualLRPKey.String() + ":" + e.Actual.Presence.String() + ":" + e.Actual.State.String()
	case e.Desired != nil:
		return "desired-" + strings.ToLower(typ) + ":" + e.Desired.ProcessGUID
	case e.Task != nil:
		return "task-" + strings.ToLower(typ) + ":" + e.Task.GUID + ":" + e.Task.State.String()
	}
	return e.Type.String()
}

func (r *runner) expectList(what string, got, want []string) {
	r.t.Helper()
	if len(want) == 1 && want[0] == "-" {
		want = nil
	}
	if !slices.Equal(got, want) {
		r.fatalf("%s = %q, want %q", what, got, want)
	}
}

func (r *runner) expectErr(want string) {
	r.t.Helper()
	class := "none"
	switch {
	case r.err == nil:
	case errors.Is(r.err, model.ErrInvalidTransition):
		class = "invalid_transition"
	case errors.Is(r.err, model.ErrNotFound):
		class = "not_found"
	case errors.Is(r.err, model.ErrExists):
		class = "exists"
	case errors.Is(r.err, model.ErrInvalid):
		class = "invalid"
	case errors.Is(r.err, errInjected):
		class = "store"
	default:
		class = "other: " + r.err.Error()
	}
	if class != want {
		r.fatalf("error class %s (%v), want %s", class, r.err, want)
	}
}

// row KEY PRESENCE STATE [cell= ig= addr= crash= since= reason= perr= domain=]: the row
// exists with those fields (unlisted fields are not checked; since is relative to now).
func (r *runner) expectRow(a []string) {
	r.t.Helper()
	kv, pos := options(a)
	if len(pos) < 3 {
		r.fatalf("row: want KEY PRESENCE STATE")
	}
	r.open()
	got, ok := r.b.ActualLRP(r.key(pos[0]), r.presence(pos[1]))
	if !ok {
		r.fatalf("row %s %s missing; rows: %+v", pos[0], pos[1], r.b.ActualLRPs(r.key(pos[0]).ProcessGUID))
	}
	check := func(field, g, w string) {
		r.t.Helper()
		if g != w {
			r.fatalf("row %s %s: %s = %q, want %q (row %+v)", pos[0], pos[1], field, g, w, got)
		}
	}
	check("state", got.State.String(), pos[2])
	for k, v := range kv {
		var want model.ActualLRP
		r.setField("row", rowField(&want, k), k, v)
		check(k, r.fieldString(rowField(&got, k)), r.fieldString(rowField(&want, k)))
	}
}

func (r *runner) expectTask(pos []string, kv map[string]string) {
	r.t.Helper()
	if len(pos) < 2 {
		r.fatalf("task: want GUID STATE")
	}
	r.open()
	got, ok := r.b.Task(pos[0])
	if !ok {
		r.fatalf("task %s missing", pos[0])
	}
	check := func(field, g, w string) {
		r.t.Helper()
		if g != w {
			r.fatalf("task %s: %s = %q, want %q (task %+v)", pos[0], field, g, w, got)
		}
	}
	check("state", got.State.String(), pos[1])
	for k, v := range kv {
		var want model.Task
		r.setField("task", taskField(&want, k), k, v)
		check(k, r.fieldString(taskField(&got, k)), r.fieldString(taskField(&want, k)))
	}
}

// report F=N ...: fields of the last Converge's report, by JSON name.
func (r *runner) expectReport(kv map[string]string) {
	r.t.Helper()
	if r.report == nil {
		r.fatalf("report: the last operation was not converge")
	}
	v := reflect.ValueOf(*r.report)
	for k, want := range kv {
		found := false
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if strings.Split(f.Tag.Get("json"), ",")[0] != k {
				continue
			}
			found = true
			if got := fmt.Sprint(v.Field(i).Interface()); got != want {
				r.fatalf("report %s = %s, want %s (report %+v)", k, got, want, *r.report)
			}
		}
		if !found {
			r.fatalf("report: unknown field %q", k)
		}
	}
}

// plan F=a/0,b/1 ...: the convergence plan at now for the cells. Every field not listed
// must be empty (zero); list fields name keys (PruneEvacuating: key, MissingCells:
// key, "+s" when a suspect exists), string lists their strings. The reference
// converge.Compute over a snapshot must give the same plan.
func (r *runner) expectPlan(kv map[string]string) {
	r.t.Helper()
	r.open()
	p := r.b.ConvergePlan(r.now, r.cells)
	in, err := r.b.Snapshot(r.cells)
	if err != nil {
		r.fatalf("snapshot: %v", err)
	}
	if diff := cmp.Diff(converge.Compute(r.now, in), p); diff != "" {
		r.fatalf("tracker plan differs from Compute (-compute +tracker):\n%s", diff)
	}
	v := reflect.ValueOf(p)
	seen := map[string]bool{}
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		got := planField(v.Field(i))
		want := kv[name]
		seen[name] = true
		if got != want {
			r.fatalf("plan %s = %q, want %q", name, got, want)
		}
	}
	for k := range kv {
		if !seen[k] {
			r.fatalf("plan: unknown field %q", k)
		}
	}
}

func planField(v reflect.Value) string {
	if v.Kind() == reflect.Int {
		if v.Int() == 0 {
			return ""
		}
		return strconv.Itoa(int(v.Int()))
	}
	var parts []string
	for i := range v.Len() {
		switch e := v.Index(i).Interface().(type) {
		case string:
			parts = append(parts, e)
		case model.ActualLRPKey:
			parts = append(parts, e.String())
		case model.ActualLRP:
			parts = append(parts, e.ActualLRPKey.String())
		case converge.MissingCell:
			s := e.Key.String()
			if e.SuspectExists {
				s += "+s"
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ",")
}

// --- values ---

func desired(guid string, n int, kv map[string]string) model.DesiredLRP {
	d := model.DesiredLRP{ProcessGUID: guid, Domain: "some-domain", Instances: n, MemoryMB: 128, DiskMB: 256,
		RootFS: "preloaded:cflinuxfs4"}
	if v, ok := kv["domain"]; ok {
		d.Domain = v
	}
	return d
}

// row KEY PRESENCE STATE [cell= ig= addr= crash= since= reason= perr= domain=]
func (r *runner) row(a []string) model.ActualLRP {
	kv, pos := options(a)
	if len(pos) < 3 {
		r.fatalf("put: want KEY PRESENCE STATE")
	}
	row := model.ActualLRP{ActualLRPKey: r.key(pos[0]), Presence: r.presence(pos[1]), State: r.state(pos[2]),
		Domain: "some-domain", Since: r.now}
	for k, v := range kv {
		r.setField("put", rowField(&row, k), k, v)
	}
	return row
}

// task GUID STATE [cell= created= updated= completed= rejections= failed= reason= domain=]
func (r *runner) task(pos []string, kv map[string]string) model.Task {
	if len(pos) < 2 {
		r.fatalf("task: want GUID STATE")
	}
	tk := model.Task{GUID: pos[0], Domain: "some-domain", MemoryMB: 64, DiskMB: 64, RootFS: "preloaded:cflinuxfs4",
		CreatedAt: r.now, UpdatedAt: r.now}
	switch pos[1] {
	case "PENDING":
		tk.State = model.TaskPending
	case "RUNNING":
		tk.State = model.TaskRunning
	case "COMPLETED":
		tk.State = model.TaskCompleted
	case "RESOLVING":
		tk.State = model.TaskResolving
	default:
		r.fatalf("unknown task state %q", pos[1])
	}
	for k, v := range kv {
		r.setField("task", taskField(&tk, k), k, v)
	}
	return tk
}

// A field is one KEY= of a row or task in the scripts: exactly one pointer is set.
// Times are relative to the script's now, as the scripts write them.
type field struct {
	str  *string
	num  *int
	time *time.Duration
	flag *bool
}

// rowField is the row's field for a script key (cell= ig= addr= crash= since= reason=
// perr= domain=); the zero field for an unknown key.
func rowField(x *model.ActualLRP, k string) field {
	switch k {
	case "cell":
		return field{str: &x.CellID}
	case "ig":
		return field{str: &x.InstanceGUID}
	case "addr":
		return field{str: &x.Address}
	case "crash":
		return field{num: &x.CrashCount}
	case "since":
		return field{time: &x.Since}
	case "reason":
		return field{str: &x.CrashReason}
	case "perr":
		return field{str: &x.PlacementError}
	case "domain":
		return field{str: &x.Domain}
	}
	return field{}
}

// taskField is the task's field for a script key (cell= created= updated= completed=
// rejections= rreason= failed= reason= result= domain= guid=).
func taskField(x *model.Task, k string) field {
	switch k {
	case "cell":
		return field{str: &x.CellID}
	case "created":
		return field{time: &x.CreatedAt}
	case "updated":
		return field{time: &x.UpdatedAt}
	case "completed":
		return field{time: &x.FirstCompletedAt}
	case "rejections":
		return field{num: &x.RejectionCount}
	case "rreason":
		return field{str: &x.RejectionReason}
	case "failed":
		return field{flag: &x.Failed}
	case "reason":
		return field{str: &x.FailureReason}
	case "result":
		return field{str: &x.Result}
	case "domain":
		return field{str: &x.Domain}
	case "guid":
		return field{str: &x.GUID}
	}
	return field{}
}

// setField parses v into f; cmd names the script command in the error for an unknown key.
func (r *runner) setField(cmd string, f field, k, v string) {
	r.t.Helper()
	switch {
	case f.str != nil:
		*f.str = v
	case f.num != nil:
		*f.num = r.atoi(v)
	case f.time != nil:
		*f.time = r.now + r.dur(v)
	case f.flag != nil:
		*f.flag = v == "true"
	default:
		r.fatalf("%s: unknown field %q", cmd, k)
	}
}

// fieldString is f as the scripts write it (times relative to now).
func (r *runner) fieldString(f field) string {
	switch {
	case f.str != nil:
		return *f.str
	case f.num != nil:
		return strconv.Itoa(*f.num)
	case f.time != nil:
		return (*f.time - r.now).String()
	case f.flag != nil:
		return strconv.FormatBool(*f.flag)
	}
	return ""
}

func (r *runner) key(s string) model.ActualLRPKey {
	g, i, ok := strings.Cut(s, "/")
	if !ok {
		r.fatalf("key %q: want GUID/INDEX", s)
	}
	return model.ActualLRPKey{ProcessGUID: g, Index: r.atoi(i)}
}

// ik parses INSTANCE@CELL.
func (r *runner) ik(s string) model.InstanceKey {
	ig, cell, ok := strings.Cut(s, "@")
	if !ok {
		r.fatalf("instance key %q: want INSTANCE@CELL", s)
	}
	return model.InstanceKey{InstanceGUID: ig, CellID: cell}
}

func (r *runner) presence(s string) model.Presence {
	for p := model.Ordinary; p <= model.Suspect; p++ {
		if p.String() == s {
			return p
		}
	}
	r.fatalf("unknown presence %q", s)
	return 0
}

func (r *runner) state(s string) model.ActualLRPState {
	for st := model.Unclaimed; st <= model.Crashed; st++ {
		if st.String() == s {
			return st
		}
	}
	r.fatalf("unknown state %q", s)
	return 0
}

func (r *runner) atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		r.fatalf("%q is not an integer", s)
	}
	return n
}

func (r *runner) dur(s string) time.Duration {
	if s == "" || s == "0" || s == "now" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		r.fatalf("%q is not a duration", s)
	}
	return d
}

// options splits key=value arguments from positional ones.
func options(a []string) (map[string]string, []string) {
	kv := map[string]string{}
	var pos []string
	for _, s := range a {
		if k, v, ok := strings.Cut(s, "="); ok && !strings.Contains(k, "/") && !strings.Contains(k, "@") {
			kv[k] = v
			continue
		}
		pos = append(pos, s)
	}
	return kv, pos
}

var repeatPattern = regexp.MustCompile(`\{(\d+)(.)\}`)

// splitArgs splits a line on blanks; key="a b" and "a b" keep their blanks (Go quoting);
// {Nc} expands to N times the character c (long reasons).
func splitArgs(line string) ([]string, error) {
	var out []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimSpace(line) {
		end := strings.IndexAny(line, " \t")
		if q := strings.IndexByte(line, '"'); q >= 0 && (end < 0 || q < end) {
			rest := line[q:]
			closing := 1
			for closing < len(rest) && (rest[closing] != '"' || rest[closing-1] == '\\') {
				closing++
			}
			if closing >= len(rest) {
				return nil, fmt.Errorf("unterminated quote in %q", line)
			}
			s, err := strconv.Unquote(rest[:closing+1])
			if err != nil {
				return nil, err
			}
			out = append(out, expand(line[:q]+s))
			line = rest[closing+1:]
			continue
		}
		if end < 0 {
			end = len(line)
		}
		out = append(out, expand(line[:end]))
		line = line[end:]
	}
	return out, nil
}

func expand(s string) string {
	return repeatPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := repeatPattern.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sub[1])
		return strings.Repeat(sub[2], n)
	})
}
