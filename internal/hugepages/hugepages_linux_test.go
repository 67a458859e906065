package hugepages

import (
	"os"
	"slices"
	"strings"
	"testing"
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
