package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/diegolab/diegolab/scenarios"
)

// simProgress shows how far a long simulation is, in simulated time, with the wall time
// so far and an estimate of what is left, on one line of a terminal that it rewrites
// (at most every progressRedraw). It only reads the simulated clock it is given: the
// driver calls it every few thousand events (sim.Options.Progress), or a sampler
// passes what the driver published through an atomic. One caller at a time.
type simProgress struct {
	w         io.Writer
	name      string
	total     time.Duration // the scenario's simulated duration
	start     time.Time     // when the simulated clock started (after the build)
	last      time.Time     // the last redraw
	printed   bool
	lastWidth int
}

const progressRedraw = 500 * time.Millisecond

// newSimProgress returns a progress line for a run of name lasting total simulated time,
// writing to stderr, or nil when quiet or stderr is not a terminal (a log or a pipe
// gets no carriage returns). Its methods are no-ops on nil.
func newSimProgress(name string, total time.Duration, quiet bool) *simProgress {
	if quiet || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	return &simProgress{w: os.Stderr, name: name, total: total}
}

// building says the world is being built (cells, apps: tens of seconds at 100,000
// cells), before the simulated clock starts.
func (p *simProgress) building(cells, instances int) {
	if p == nil {
		return
	}
	p.draw(fmt.Sprintf("%s: building %d cells and %d instances", p.name, cells, instances))
}

// begin marks the start of the simulated clock (the build is over): the estimate of
// the time left counts from here.
func (p *simProgress) begin() {
	if p != nil {
		p.start = time.Now()
	}
}

// update shows the simulated time now, redrawing at most every progressRedraw.
func (p *simProgress) update(now time.Duration) {
	if p == nil {
		return
	}
	wall := time.Now()
	if p.start.IsZero() {
		p.start = wall
	}
	if wall.Sub(p.last) < progressRedraw*9/10 { // a sampler calling every progressRedraw redraws each time
		return
	}
	p.last = wall
	p.draw(progressLine(p.name, now, p.total, wall.Sub(p.start)))
}

// progressLine is the text of one progress line.
func progressLine(name string, now, total, elapsed time.Duration) string {
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(now) / float64(total)
	}
	left := "time left not known yet"
	if now > 0 && total > now {
		eta := time.Duration(float64(elapsed) * float64(total-now) / float64(now))
		left = "about " + eta.Round(time.Second).String() + " left"
	} else if now >= total {
		left = "finishing"
	}
	return fmt.Sprintf("%s: %s of %s simulated (%.1f%%), %s elapsed, %s", name,
		now.Round(time.Second), total, pct, elapsed.Round(time.Second), left)
}

// draw rewrites the line (padding over a longer previous one).
func (p *simProgress) draw(s string) {
	pad := max(p.lastWidth-len(s), 0)
	fmt.Fprintf(p.w, "\r%s%*s", s, pad, "")
	p.lastWidth, p.printed = len(s), true
}

// done ends the line, if any was drawn.
func (p *simProgress) done() {
	if p != nil && p.printed {
		fmt.Fprintln(p.w)
		p.printed = false
	}
}

// scenarioSize is the scenario's initial cells and desired app instances.
func scenarioSize(sc *scenarios.Scenario) (cells, instances int) {
	for _, g := range sc.Cells {
		cells += g.Count
	}
	for _, g := range sc.Apps {
		instances += g.Count * g.Instances
	}
	return cells, instances
}
