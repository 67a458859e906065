package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// An active/passive BBS pair (`live up --bbs-pair --db postgres://...`): the
// supervisor starts a second BBS ("bbs-b", directory DIR/bbs-b) on the same
// database once the first holds the lock, so the first is the active and the
// second the passive (real/bbsserver/lease.go). Both share the first's blobs
// directory and the lock TTL and retry of the options; every URL of the cluster
// (the CLI's config, the reps' and the router's --bbs) lists both, and clients
// follow the active. The supervisor restarts either one as it restarts any
// component; a restarted BBS is passive unless the lock is free or still its own.

// Bounds of Options.LockTTL (those of `diegolab bbs --lock-ttl`).
const (
	minLockTTL = 300 * time.Millisecond
	maxLockTTL = 10 * time.Minute
)

// checkPair validates the pair's options.
func (o Options) checkPair() error {
	if o.LockTTL != 0 && (o.LockTTL < minLockTTL || o.LockTTL > maxLockTTL) {
		return fmt.Errorf("lock-ttl: want %v to %v, got %v", minLockTTL, maxLockTTL, o.LockTTL)
	}
	if o.BBSPair && o.DB == "" {
		return fmt.Errorf("bbs-pair: the two BBSs share their state and lock in PostgreSQL: set --db postgres://... (SQLite is one process's file)")
	}
	return nil
}

// pairArgs are the flags both BBSs of a pair get (none for a single BBS, which
// keeps its defaults; a lock TTL applies to a single BBS too).
func (o Options) pairArgs(dir string) []string {
	var a []string
	if o.LockTTL > 0 {
		// Renew three times per TTL, as Locket's clients do at the default 15 s/5 s.
		a = append(a, "--lock-ttl", o.LockTTL.String(), "--lock-retry", (o.LockTTL / 3).String())
	}
	if o.BBSPair {
		a = append(a, "--blobs-dir", filepath.Join(dir, "bbs", "blobs"))
	}
	return a
}

// startBBS starts one BBS (name, its directory bbsDir, with the common args),
// records it in p and returns its URL for the CLI (outer) and for the
// components (inner; the same on one host).
func (s *supervisor) startBBS(ctx context.Context, p *Proc, name, bbsDir string, common []string) (outer, inner string, err error) {
	o := s.o
	if err := os.MkdirAll(bbsDir, 0o700); err != nil {
		return "", "", err
	}
	addrFile := filepath.Join(bbsDir, "addr")
	_ = os.Remove(addrFile)
	listen := s.bbsListen()
	args := append([]string{o.Binary, "bbs", "--dir", bbsDir, "--listen", listen, "--addr-file", addrFile}, common...)
	c := &child{}
	args = s.hubBBS(c, args)
	*p = Proc{Name: name, Args: args, Dir: bbsDir}
	c.proc = p
	s.kids = append(s.kids, c)
	if err := s.spawn(c); err != nil {
		return "", "", err
	}
	addr, err := waitFile(ctx, addrFile, o.Wait)
	if err != nil {
		return "", "", fmt.Errorf("%s did not start: %w", name, err)
	}
	for i, a := range p.Args {
		if a == listen {
			p.Args[i] = addr // restarts keep the address
		}
	}
	scheme := "http://"
	if o.TLS {
		scheme = "https://"
	}
	inner = scheme + addr
	outer = inner
	if c.rootListen != "" {
		outer = scheme + c.rootListen
	}
	return outer, inner, nil
}

// startPassive starts the pair's second BBS and adds it to the cluster's URLs.
func (s *supervisor) startPassive(ctx context.Context, common []string) error {
	if !s.o.BBSPair {
		return nil
	}
	outer, inner, err := s.startBBS(ctx, &s.st.BBSB, "bbs-b", filepath.Join(s.dir, "bbs-b"), common)
	if err != nil {
		return err
	}
	s.st.URL += "," + outer
	s.st.InnerURL += "," + inner
	return nil
}

// BBSURLs splits a cluster URL (a pair's is a comma-separated list).
func BBSURLs(u string) []string { return strings.Split(u, ",") }
