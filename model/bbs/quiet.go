package bbs

// Quiet reports whether Ready would return nothing (and change nothing): no event,
// start, stop, cancel or callback since the last call. A driver looks after every
// input, and most inputs of a long run (samples, timers) produce nothing.
func (b *BBS) Quiet() bool { return b.out.Empty() }
