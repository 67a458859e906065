package bbsserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/diegolab/diegolab/real/api"
	"github.com/diegolab/diegolab/real/sqlstore"
)

// The active/passive pair, as Diego's BBS runs it with Locket (DIEGO.md §6.3): every
// BBS process on a database competes for one lock row (sqlstore's locks, name
// lockName) with a TTL. The holder is active: it serves the API, converges and
// auctions. The others are passive: every request gets 503 with the active's URL
// (api.ActiveHeader), and they retry the lock every LockRetry; when the holder stops
// renewing (killed, stopped, cut off) its row expires and a passive takes it over,
// reopening the plane from the database.
//
// No split brain: the active checks its lease before every write transaction (a
// local deadline: the start of its last successful renewal + TTL) and, as the last
// statement of the transaction, fences it in the database (sqlstore.FenceLock): a
// BBS that was stopped past its TTL rolls back, drops its plane and becomes passive
// the moment it resumes, whatever it was doing.

const lockName = "bbs"

// errNotActive: this BBS does not hold the lock.
var errNotActive = errors.New("this BBS is not active: it is the passive of an active/passive pair")

// lease is the lock state, under Server.mu except where noted.
type lease struct {
	active bool
	// until: the local deadline of the lease (monotonic clock).
	until time.Time
	// holder: the active's URL as the lock row says (for the 503s).
	holder string
	// graceFrom/grace: no Tick before graceFrom+grace (see activate).
	graceFrom time.Time
}

// renew takes or renews the lock once. It runs on the locker's own connection, never
// inside the store's transaction, and never under s.mu (a slow transaction must not
// delay it).
func (s *Server) renew() (held bool, holder string, until time.Time, err error) {
	start := time.Now()
	held, err = s.locker.AcquireLock(lockName, s.cfg.ID, s.URL(), start, s.cfg.LockTTL)
	if err != nil {
		return false, "", time.Time{}, err
	}
	if held {
		return true, s.URL(), start.Add(s.cfg.LockTTL), nil
	}
	_, holder, _, _, err = s.locker.LockHolder(lockName)
	return false, holder, time.Time{}, err
}

// lockLoop renews the lock while active and competes for it while passive, every
// LockRetry, until ctx ends.
func (s *Server) lockLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.LockRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.lockFrozen.Load() {
			continue // a test standing in for a stopped process
		}
		held, holder, until, err := s.renew()
		if err != nil {
			s.log.Warn("bbs lock", "err", err) // the local deadline runs out on its own
			continue
		}
		s.mu.Lock()
		if held && !time.Now().Before(until) {
			// This BBS was stopped (or starved) between the renewal and now, past the
			// TTL: the lease it took has run out and another BBS may hold the lock, so
			// it proves nothing. Acting on it would make this BBS active again, name
			// itself as the active in its 503s, and reload its plane, until the next
			// renewal found the lock another's.
			s.mu.Unlock()
			continue
		}
		s.lease.holder = holder
		switch {
		case held && s.lease.active:
			s.lease.until = until
		case held:
			s.lease.until = until
			if err := s.activate(); err != nil {
				s.die(err)
			}
		case s.lease.active:
			s.demote("another BBS holds the lock: " + holder)
			s.lease.holder = holder
		}
		s.mu.Unlock()
	}
}

// activate makes this BBS the active one: the plane is reopened from the database
// (another BBS may have changed every row since this one last looked) and the cells'
// presences are read back. Called with mu held and the lock just taken.
func (s *Server) activate() error {
	if err := s.load(true); err != nil {
		return err
	}
	s.lease.active = true
	s.activeFlag.Store(true)
	s.log.Info("bbs active: holding the lock", "id", s.cfg.ID, "ttl", s.cfg.LockTTL)
	return nil
}

// demote stops acting at once: no write transaction starts or commits any more, the
// event streams are closed (the routers reconnect to the active) and the plane is
// left to be reopened if this BBS becomes active again. Called with mu held.
func (s *Server) demote(why string) {
	if !s.lease.active {
		return
	}
	s.lease.active = false
	s.lease.until = time.Time{}
	s.activeFlag.Store(false)
	s.hub.closeAll()
	// Who holds it now, for the 503s (one query on the lock's own connection).
	s.lease.holder = ""
	if _, v, exp, ok, err := s.locker.LockHolder(lockName); err == nil && ok && time.Now().Before(exp) {
		s.lease.holder = v
	}
	s.log.Warn("bbs passive: lock lost, stopped acting", "why", why, "active", s.lease.holder)
}

// checkLease is do's check before a transaction: active with an unexpired lease.
// Called with mu held.
func (s *Server) checkLease() error {
	if !s.lease.active {
		return s.notActive()
	}
	if !time.Now().Before(s.lease.until) {
		s.demote("lease expired before it was renewed")
		return s.notActive()
	}
	return nil
}

// fence is do's last statement before the commit (sqlstore.FenceLock).
func (s *Server) fence() (bool, error) {
	held, err := s.store.FenceLock(lockName, s.cfg.ID, time.Now())
	if err == nil && !held {
		s.demote("the database says the lock is no longer ours")
	}
	return held, err
}

// notActiveError is errNotActive with the active's URL ("" when none is known).
type notActiveError struct{ holder string }

func (e *notActiveError) Error() string {
	if e.holder != "" {
		return fmt.Sprintf("%v; the active BBS is %s", errNotActive, e.holder)
	}
	return fmt.Sprintf("%v; no active BBS right now (one takes over within the lock TTL)", errNotActive)
}

func (e *notActiveError) Is(target error) bool { return target == errNotActive }

func (s *Server) notActive() error {
	h := s.lease.holder
	if h == s.URL() {
		h = ""
	}
	return &notActiveError{holder: h}
}

// passiveGate answers every request with 503 and the active's address while this BBS
// is passive.
func (s *Server) passiveGate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.activeFlag.Load() {
			h.ServeHTTP(w, r)
			return
		}
		s.mu.Lock()
		err := s.notActive()
		s.mu.Unlock()
		writeNotActive(w, err)
	})
}

// writeNotActive writes the 503 of a passive BBS, naming the active in api.ActiveHeader.
func writeNotActive(w http.ResponseWriter, err error) {
	// Always present on a passive's 503 (empty when no BBS holds the lock): it is
	// how clients tell "passive" from any other 503.
	holder := ""
	var na *notActiveError
	if errors.As(err, &na) {
		holder = na.holder
	}
	w.Header()[http.CanonicalHeaderKey(api.ActiveHeader)] = []string{holder}
	w.Header().Set("Retry-After", "1")
	api.WriteError(w, http.StatusServiceUnavailable, err)
}

// release gives the lock up at a clean shutdown, so that the passive takes over at
// its next retry instead of after the TTL.
func (s *Server) release() {
	if err := s.locker.ReleaseLock(lockName, s.cfg.ID); err != nil {
		s.log.Warn("bbs lock release", "err", err)
	}
}

// openLocker opens the lock's own connection to the store's database. On
// PostgreSQL its statements give up after half the TTL (lock_timeout,
// statement_timeout): a renewal or takeover stuck behind a stopped BBS's row lock
// must not stop the loop.
func openLocker(target string, ttl time.Duration) (*sqlstore.Store, error) {
	if sqlstore.IsPostgresURL(target) {
		ms := strconv.FormatInt(max(ttl/2, 100*time.Millisecond).Milliseconds(), 10)
		var err error
		if target, err = withParams(target, map[string]string{"lock_timeout": ms, "statement_timeout": ms}, true); err != nil {
			return nil, err
		}
	}
	return sqlstore.OpenTarget(target)
}

// openStore opens the store's own connections to the database. On PostgreSQL a
// session idle in a transaction for longer than the lock's TTL is ended by the server
// (idle_in_transaction_session_timeout, unless the URL sets its own): a BBS stopped
// in the middle of a transaction would otherwise keep its rows, and its fenced lock
// row, locked until it resumed, so that no passive could take the lock over, however
// long ago it expired. The resumed BBS's next statement fails and it becomes passive
// (cutOff).
func openStore(target string, ttl time.Duration) (*sqlstore.Store, error) {
	if sqlstore.IsPostgresURL(target) {
		ms := strconv.FormatInt(max(ttl, 100*time.Millisecond).Milliseconds(), 10)
		var err error
		if target, err = withParams(target, map[string]string{"idle_in_transaction_session_timeout": ms}, false); err != nil {
			return nil, err
		}
	}
	return sqlstore.OpenTarget(target)
}

// withParams sets query parameters of a database URL (pgx sends unknown ones as the
// session's settings); override false keeps those the URL sets itself.
func withParams(target string, params map[string]string, override bool) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", errors.New("database URL: not a valid URL") // err would echo a password
	}
	q := u.Query()
	for k, v := range params {
		if override || !q.Has(k) {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// cutOff tells a store failure inside a transaction that comes from this BBS having
// lost the lock (its local lease ran out, or the lock row is gone, expired or
// another's) from a broken store: PostgreSQL ends the session of a BBS stopped past
// its TTL in the middle of a transaction (openStore), and the resumed BBS must become
// passive, as the fence makes it when it was stopped between transactions, not stop.
// When so, it demotes and reports true. Called with mu held, the transaction rolled
// back.
func (s *Server) cutOff(err error) bool {
	if time.Now().Before(s.lease.until) {
		owner, _, exp, ok, lerr := s.locker.LockHolder(lockName)
		if lerr != nil || ok && owner == s.cfg.ID && time.Now().Before(exp) {
			return false // still the holder: the store itself failed
		}
	}
	s.demote("lock lost during a transaction (" + err.Error() + ")")
	return true
}
