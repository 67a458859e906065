package rep

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/*.txt")

// TestScripts runs the rep's state machine on the scripts in testdata (etcd raft's
// style): each block is one input, "----", and the output expected after it (the step
// the machine asks for and the container's state). Run with -update to rewrite the
// expected outputs, then read the diff.
//
// Inputs:
//
//	lrp NAME | task NAME              a new container placed on the cell
//	reply NAME ok|refused|keep|drop   the BBS's answer to NAME's last report
//	created NAME ok|failed            the executor's answer to a create
//	healthy NAME                      the LRP's health check passed
//	exited NAME REASON...             the LRP's process exited
//	task-exited NAME ok|failed [REASON...]
//	stop NAME | cancel NAME | forget NAME | evacuate NAME | evacuation-ended NAME
//	drain AT | poll AT REMAINING TIMEOUT   the cell's evacuation (durations)
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f) })
	}
}

type block struct {
	comments []string
	input    string
	want     string
	line     int
}

func parseScript(t *testing.T, path string) []block {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	var out []block
	for i := 0; i < len(lines); {
		var b block
		for i < len(lines) && (lines[i] == "" || strings.HasPrefix(lines[i], "#")) {
			if lines[i] != "" {
				b.comments = append(b.comments, lines[i])
			}
			i++
		}
		if i >= len(lines) {
			if len(b.comments) > 0 {
				out = append(out, b)
			}
			break
		}
		b.input, b.line = lines[i], i+1
		i++
		if i >= len(lines) || lines[i] != "----" {
			t.Fatalf("%s:%d: %q must be followed by a line \"----\"", path, b.line, b.input)
		}
		i++
		var want []string
		for i < len(lines) && lines[i] != "" {
			want = append(want, lines[i])
			i++
		}
		b.want = strings.Join(want, "\n")
		out = append(out, b)
	}
	return out
}

// machine is a script's world: named containers and one cell.
type machine struct {
	cs   map[string]*Container
	last map[string]Report
	cell Cell
}

func runScript(t *testing.T, path string) {
	blocks := parseScript(t, path)
	m := &machine{cs: map[string]*Container{}, last: map[string]Report{}}
	var rewritten strings.Builder
	for i := range blocks {
		b := &blocks[i]
		for _, c := range b.comments {
			rewritten.WriteString(c + "\n")
		}
		if b.input == "" {
			continue
		}
		got, err := m.do(b.input)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, b.line, err)
		}
		if !*update && got != b.want {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, b.line, b.input, got, b.want)
		}
		rewritten.WriteString(b.input + "\n----\n" + got + "\n\n")
	}
	if *update {
		if err := os.WriteFile(path, []byte(strings.TrimRight(rewritten.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (m *machine) do(input string) (string, error) {
	f := strings.Fields(input)
	if len(f) < 2 {
		return "", fmt.Errorf("%q: want a command and its arguments", input)
	}
	cmd, name, args := f[0], f[1], f[2:]
	switch cmd {
	case "drain":
		at, err := time.ParseDuration(name)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("started %v, accepts work %v", m.cell.Drain(at), m.cell.Accepts()), nil
	case "poll":
		at, err := time.ParseDuration(name)
		if err != nil || len(args) != 2 {
			return "", fmt.Errorf("poll AT REMAINING TIMEOUT")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return "", err
		}
		timeout, err := time.ParseDuration(args[1])
		if err != nil {
			return "", err
		}
		return m.cell.Poll(at, n, timeout).String(), nil
	case "lrp", "task":
		if _, dup := m.cs[name]; dup {
			return "", fmt.Errorf("container %q exists", name)
		}
		var c Container
		var st Step
		if cmd == "lrp" {
			c, st = NewLRP()
		} else {
			c, st = NewTask()
		}
		m.cs[name] = &c
		return m.out(name, st), nil
	}
	c, ok := m.cs[name]
	if !ok {
		return "", fmt.Errorf("no container %q", name)
	}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	var st Step
	switch cmd {
	case "reply":
		r := Reply{OK: arg(0) == "ok", Keep: arg(0) == "keep"}
		switch arg(0) {
		case "ok", "refused", "keep", "drop":
		default:
			return "", fmt.Errorf("reply: want ok, refused, keep or drop, got %q", arg(0))
		}
		st = c.Reply(m.last[name], r)
	case "created":
		st = c.Created(arg(0) == "ok")
	case "healthy":
		st = c.Healthy()
	case "exited":
		st = c.Exited(strings.Join(args, " "))
	case "task-exited":
		st = c.TaskExited(arg(0) == "failed", strings.Join(args[min(1, len(args)):], " "), "")
	case "stop":
		st = c.Stop()
	case "cancel":
		st = c.Cancel()
	case "forget":
		st = c.Forget()
	case "evacuate":
		st = c.Evacuate()
	case "evacuation-ended":
		st = c.EvacuationEnded()
	default:
		return "", fmt.Errorf("unknown command %q", cmd)
	}
	return m.out(name, st), nil
}

// out prints a step and the container's state, and remembers the report to answer.
func (m *machine) out(name string, st Step) string {
	if st.Report != ReportNone {
		m.last[name] = st.Report
	}
	c := m.cs[name]
	state := c.Kind().String() + " " + c.Phase().String()
	if c.Evacuating() {
		state += " evacuating"
	}
	if c.Stopping() && !c.Done() {
		state += " stopping"
	}
	if c.Starting() {
		state += " starting"
	}
	return st.String() + "\n" + state
}
