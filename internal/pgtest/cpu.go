package pgtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the kernel's USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) is fixed by the ABI).
const clockTick = 100

// CPU returns the user + system CPU time the server has used so far: its postmaster's
// own, that of its backends and helpers that have exited (the kernel adds a reaped
// child's CPU to its parent's) and that of those still running. The difference of two
// readings is what the server spent in between, e.g. on a benchmark's queries. Linux
// only (it reads /proc).
func (s *Server) CPU() (time.Duration, error) {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0, errors.New("pgtest: the server is not running")
	}
	pm := s.cmd.Process.Pid
	self, err := procStat(pm)
	if err != nil {
		return 0, fmt.Errorf("pgtest: postmaster %d: %w", pm, err)
	}
	ticks := self.utime + self.stime + self.cutime + self.cstime
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == pm {
			continue
		}
		st, err := procStat(pid)
		if err != nil || st.ppid != pm {
			continue // not ours, or gone since ReadDir
		}
		ticks += st.utime + st.stime
	}
	return time.Duration(ticks) * time.Second / clockTick, nil
}

type stat struct {
	ppid                         int
	utime, stime, cutime, cstime int64
}

// procStat reads the fields of /proc/PID/stat that CPU needs (see proc(5)): the
// command name in parentheses may hold spaces, so fields are counted after its ")".
func procStat(pid int) (stat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return stat{}, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return stat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14-17.
	if len(f) < 15 {
		return stat{}, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 15", pid, len(f))
	}
	var st stat
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return stat{}, fmt.Errorf("/proc/%d/stat: ppid %q: %w", pid, f[1], err)
	}
	for k, p := range []*int64{&st.utime, &st.stime, &st.cutime, &st.cstime} {
		if *p, err = strconv.ParseInt(f[11+k], 10, 64); err != nil {
			return stat{}, fmt.Errorf("/proc/%d/stat: field %d %q: %w", pid, 14+k, f[11+k], err)
		}
	}
	return st, nil
}
