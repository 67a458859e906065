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
	// A backend reaped between the read of the postmaster and the scan of its children
	// would be in neither: read the postmaster again after the scan and start over if
	// its children's time moved meanwhile.
	for try := 0; ; try++ {
		self, err := procStat(pm)
		if err != nil {
			return 0, fmt.Errorf("pgtest: postmaster %d: %w", pm, err)
		}
		ticks := self.utime + self.stime + self.cutime + self.cstime
		live, err := childTicks(pm)
		if err != nil {
			return 0, err
		}
		again, err := procStat(pm)
		if err != nil {
			return 0, fmt.Errorf("pgtest: postmaster %d: %w", pm, err)
		}
		if again.cutime+again.cstime == self.cutime+self.cstime || try == 9 {
			return time.Duration(ticks+live) * time.Second / clockTick, nil
		}
	}
}

// childTicks sums the user + system CPU ticks of the processes whose parent is pid.
func childTicks(pid int) (int64, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		st, err := procStat(p)
		if err != nil || st.ppid != pid {
			continue // not a child, or gone since ReadDir
		}
		ticks += st.utime + st.stime
	}
	return ticks, nil
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
