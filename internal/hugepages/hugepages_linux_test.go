package hugepages

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestAnonRange(t *testing.T) {
	for _, tc := range []struct {
		line string
		want [2]uint64
		ok   bool
	}{
		{"3fb897400000-3fb8ad000000 rw-p 00000000 00:00 0 ", [2]uint64{0x3fb897400000, 0x3fb8ad000000}, true},
		{"7f37d6fff000-7f37d77ff000 rw-p 00000000 00:00 0", [2]uint64{0x7f37d6fff000, 0x7f37d77ff000}, true},
		{"c000000000-c004000000 rw-p 00000000 00:00 0    [anon: Go: heap]", [2]uint64{0xc000000000, 0xc004000000}, true},
		{"01964000-01a0c000 rw-p 01564000 fe:00 10142310   /tmp/dl", [2]uint64{}, false}, // a file
		{"2a44c000-2a46d000 rw-p 00000000 00:00 0          [heap]", [2]uint64{}, false},  // brk heap
		{"7ffd1000-7ffd2000 rw-p 00000000 00:00 0          [stack]", [2]uint64{}, false},
		{"3fb897400000-3fb8ad000000 ---p 00000000 00:00 0", [2]uint64{}, false}, // reserved, not mapped
		{"3fb897400000-3fb8ad000000 r--p 00000000 00:00 0", [2]uint64{}, false},
		{"3fb897400000-3fb8ad000000 rw-s 00000000 00:05 12", [2]uint64{}, false}, // shared
		{"zz-3fb8ad000000 rw-p 00000000 00:00 0", [2]uint64{}, false},
		{"3fb8ad000000-3fb897400000 rw-p 00000000 00:00 0", [2]uint64{}, false}, // end before start
		{"", [2]uint64{}, false},
	} {
		got, ok := anonRange([]byte(tc.line))
		if got != tc.want || ok != tc.ok {
			t.Errorf("anonRange(%q) = %#x, %v; want %#x, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// TestAdvise advises a live 64 MiB allocation: the mapping that holds it is advised once,
// and a second call finds nothing new.
func TestAdvise(t *testing.T) {
	if !Supported() {
		t.Skip("this kernel has transparent huge pages disabled ([never]): nothing to advise")
	}
	buf := make([]byte, 64<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	a := NewAdvisor()
	n, err := a.Advise()
	if err != nil {
		t.Fatalf("Advise: %v", err)
	}
	if n < int64(len(buf)) {
		t.Fatalf("advised %d bytes, want at least the %d of the live buffer", n, len(buf))
	}
	if n2, err := a.Advise(); err != nil || n2 != 0 {
		t.Fatalf("second Advise = %d, %v; want 0 new bytes", n2, err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	advised := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && slices.Contains(strings.Fields(flags), "hg") {
			advised = true
		}
	}
	if !advised {
		t.Errorf("no mapping of /proc/self/smaps carries the hg (MADV_HUGEPAGE) flag after Advise")
	}
	buf[0] = 2 // keep buf alive until here
}

// TestPrefault: the range Prefault advises lies inside the allocation, carries the hg
// (MADV_HUGEPAGE) flag in /proc/self/smaps and is not resident (nothing touched it). It
// runs in a fresh process (the test binary again), as Prefault is meant to: in this one
// other tests have touched and freed heap that the allocation could reuse.
func TestPrefault(t *testing.T) {
	if !Supported() {
		t.Skip("this kernel has transparent huge pages disabled ([never]): nothing to advise")
	}
	if os.Getenv("HUGEPAGES_PREFAULT_CHILD") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestPrefault$", "-test.v")
		cmd.Env = append(os.Environ(), "HUGEPAGES_PREFAULT_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestPrefault") {
			t.Fatalf("the fresh process: %v\n%s", err, out)
		}
		return
	}
	if b, r, err := prefault(hugeSize); b != nil || r != ([2]uint64{}) || err != nil {
		t.Errorf("prefault(2 MiB) = %d bytes, %#x, %v; want nothing done (no aligned huge page fits)", len(b), r, err)
	}
	const n = 64 << 20
	b, r, err := prefault(n)
	if err != nil {
		t.Fatalf("prefault: %v", err)
	}
	p := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	// 64 MiB hold at least 31 aligned 2 MiB pages
	if r[0] < p || r[1] > p+n || r[1]-r[0] < n-2*hugeSize || r[0]%hugeSize != 0 || r[1]%hugeSize != 0 {
		t.Fatalf("advised %#x-%#x; want 2 MiB-aligned, inside the allocation %#x-%#x", r[0], r[1], p, p+n)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	var in bool
	var rss string
	for _, line := range strings.Split(string(smaps), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			lo, hi, _ := strings.Cut(f[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			z, err2 := strconv.ParseUint(hi, 16, 64)
			in = err1 == nil && err2 == nil && a <= r[0] && r[1] <= z
			continue
		}
		if !in {
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok {
			rss = strings.TrimSpace(v)
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			found = true
			if !slices.Contains(strings.Fields(flags), "hg") {
				t.Errorf("the mapping of the advised range lacks the hg flag: %s", flags)
			}
		}
	}
	if !found {
		t.Fatalf("no mapping of /proc/self/smaps holds %#x-%#x", r[0], r[1])
	}
	if kb, err := strconv.Atoi(strings.TrimSuffix(rss, " kB")); err != nil || kb > 8<<10 {
		t.Errorf("Rss of the mapping: %q; want under 8 MiB (prefaulting touches nothing)", rss)
	}
	b[0] = 1 // keep b alive until here
}
