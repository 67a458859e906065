package bbsserver

// locked runs read with s's mutex held. The store has one transaction at a time,
// which do opens under the mutex (an auction dispatched by an earlier request runs
// one in the background): a test's direct read of s.store outside it would race on
// that transaction and might read through it.
func locked[T any](s *Server, read func() (T, error)) (T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return read()
}
