package hugepages

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// MinMapping is the smallest mapping Advise touches: the Go heap grows in large
// contiguous mappings, while small ones (thread stacks, runtime metadata) would only
// waste memory on huge pages.
const MinMapping = 32 << 20

// Advisor remembers the mappings it has advised, so calling Advise again (as the heap
// grows) only works on what is new.
type Advisor struct {
	done map[[2]uint64]bool
}

// NewAdvisor returns an Advisor that has advised nothing yet.
func NewAdvisor() *Advisor { return &Advisor{done: map[[2]uint64]bool{}} }

// Supported reports whether the system can use transparent huge pages at all (its THP
// policy is not "never").
func Supported() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && !bytes.Contains(b, []byte("[never]"))
}

// Advise marks the private anonymous read-write mappings of at least MinMapping bytes
// that it has not seen before with MADV_HUGEPAGE and collapses their present pages into
// huge pages (MADV_COLLAPSE, Linux 6.1 and later; older kernels skip this step and
// leave it to khugepaged). It returns the bytes newly advised. A failure of one mapping
// (a kernel without THP, a mapping that went away) does not stop the others: the first
// error is returned with the count.
func (a *Advisor) Advise() (int64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("hugepages: %w", err)
	}
	defer f.Close()
	var ranges [][2]uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if r, ok := anonRange(sc.Bytes()); ok && r[1]-r[0] >= MinMapping && !a.done[r] {
			ranges = append(ranges, r)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("hugepages: reading /proc/self/maps: %w", err)
	}
	var n int64
	var first error
	for _, r := range ranges {
		a.done[r] = true
		if err := madvise(r, unix.MADV_HUGEPAGE); err != nil {
			if first == nil {
				first = fmt.Errorf("hugepages: madvise(MADV_HUGEPAGE) %#x-%#x: %w", r[0], r[1], err)
			}
			continue
		}
		n += int64(r[1] - r[0])
		// EINVAL: a kernel before 6.1; EAGAIN/ENOMEM: some pages could not be
		// collapsed now. khugepaged will get to them; the advice stays.
		_ = madvise(r, unix.MADV_COLLAPSE)
	}
	return n, first
}

func madvise(r [2]uint64, advice int) error {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(r[0]), uintptr(r[1]-r[0]), uintptr(advice))
	if errno != 0 {
		return errno
	}
	return nil
}

// anonRange parses a /proc/self/maps line ("start-end perms offset dev inode [path]")
// and returns its range if it is a private read-write mapping with no file or name.
func anonRange(line []byte) ([2]uint64, bool) {
	f := bytes.Fields(line)
	if len(f) < 5 || !bytes.HasPrefix(f[1], []byte("rw-p")) || string(f[4]) != "0" {
		return [2]uint64{}, false
	}
	if len(f) > 5 && !bytes.HasPrefix(f[5], []byte("[anon:")) {
		return [2]uint64{}, false // a file, [heap], [stack], ...
	}
	lo, hi, ok := bytes.Cut(f[0], []byte("-"))
	if !ok {
		return [2]uint64{}, false
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return [2]uint64{}, false
	}
	return [2]uint64{start, end}, true
}

// hugeSize is the size of a transparent huge page on x86-64 and arm64 (with 4 KiB base
// pages); an advice on a range not aligned to it only covers its aligned middle.
const hugeSize = 2 << 20

// Prefault has the Go heap map about n bytes at once and marks them MADV_HUGEPAGE before
// anything touches them, then lets them go (the caller's next GC frees them, and the
// heap reuses the same addresses). A program about to build a heap of that size then
// takes one huge-page fault per 2 MiB instead of 512 small ones from the start: Advise
// only reaches memory the heap already has, most of which has been touched by then and
// must be collapsed (copied). A fresh allocation this large is not zeroed by the runtime
// (the system's pages are), so this costs address space, not memory or time. Call it
// early in a fresh process, before a GC.
func Prefault(n int) error {
	_, _, err := prefault(n)
	return err
}

// prefault is Prefault, returning the allocation (for the caller to keep or drop) and
// the advised range (empty when n is too small to hold an aligned huge page).
func prefault(n int) ([]byte, [2]uint64, error) {
	if n < 2*hugeSize {
		return nil, [2]uint64{}, nil
	}
	b := make([]byte, n)
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	r := [2]uint64{uint64((p + hugeSize - 1) &^ (hugeSize - 1)), uint64((p + uintptr(n)) &^ (hugeSize - 1))}
	if err := madvise(r, unix.MADV_HUGEPAGE); err != nil {
		return b, r, fmt.Errorf("hugepages: madvise(MADV_HUGEPAGE) %#x-%#x: %w", r[0], r[1], err)
	}
	return b, r, nil
}
