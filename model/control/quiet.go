package control

// quiet reports whether Ready would return an empty Ready and change nothing: the BBS
// has no output, the plane holds none, and no queued request waits for an auction to be
// started. Drain asks it first after every input: most of a long run's inputs (the
// timeseries' samples, convergence passes that find nothing) produce nothing, and
// Ready's copies of two outboxes cost more than the question.
func (p *Plane) quiet() bool {
	return p.bbs.Quiet() && p.out.Empty() && (p.auctioning || len(p.lrpQueue) == 0 && len(p.taskQueue) == 0)
}
