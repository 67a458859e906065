package rep

import (
	"fmt"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/executor"
)

// sink returns the Log function of a container: each line goes to the log service
// tagged with the app, source and instance index (and to Config.AppLog when set).
func (r *Rep) sink(app, source string, index int) func(executor.LogLine) {
	return func(l executor.LogLine) {
		if r.cfg.AppLog != nil {
			fmt.Fprintf(r.cfg.AppLog, "%s [%s] %s %s\n", l.At.Format(time.RFC3339Nano), l.ContainerID, l.Stream, l.Text)
		}
		if app == "" {
			return
		}
		stream := api.StreamOut
		if l.Stream == executor.Stderr {
			stream = api.StreamErr
		}
		r.ship.Send(api.LogLine{App: app, Source: source, Index: index, Stream: stream, Text: l.Text, At: l.At})
	}
}

func (r *Rep) line(c *lrpC, source, stream, text string) {
	r.mu.Lock()
	app := c.app
	r.mu.Unlock()
	if app == "" {
		return
	}
	r.ship.Send(api.LogLine{App: app, Source: source, Index: c.key.Index, Stream: stream, Text: text, At: time.Now()})
}

// cell writes a CELL line about an instance ("Cell cell-0 creating container for
// instance GUID", as Diego's rep says it).
func (r *Rep) cell(c *lrpC, format string, args ...any) {
	r.line(c, api.SourceCell, api.StreamOut, fmt.Sprintf("Cell %s ", r.cfg.CellID)+fmt.Sprintf(format, args...))
}

// health writes a HEALTH line about an instance.
func (r *Rep) health(c *lrpC, stream, text string) { r.line(c, api.SourceHealth, stream, text) }

// destroyLogged destroys an instance's container with its CELL lines.
func (r *Rep) destroyLogged(c *lrpC, ct Container) {
	if ct == nil {
		return
	}
	r.cell(c, "destroying container for instance %s", c.ik.InstanceGUID)
	r.destroy(ct)
	r.cell(c, "successfully destroyed container for instance %s", c.ik.InstanceGUID)
}
