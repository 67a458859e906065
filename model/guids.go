package model

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"
)

// GUIDs gives process guids small dense ids (0, 1, 2, ... in order of first sight), so
// that the layers of one run can keep per-process state in slices instead of maps keyed
// by strings. At millions of processes a probe of such a map costs several cache misses
// (the string's bytes, the control word, the slot, the value); a guid laid out by Block
// costs none of them.
//
// Block lays a batch of new guids out in one string at a fixed stride and returns
// substrings of it. The BBS, the auction and the events copy string headers, never the
// bytes, so every copy of such a guid points into the block, and its id follows from
// its address: guid i of a block starts at offset i*stride. A string that starts at
// entry i with entry i's length holds exactly guid i's bytes (strings are immutable), so
// the address can only give the right id; any other string (the same name built
// elsewhere, a prefix) takes the map. Ids never depend on addresses, only speed does.
//
// A caller that keeps the string of each id it looks up (a store holding its rows by id)
// may skip even the length check: EntryID gives the entry's id from the address alone,
// and the caller confirms it by comparing its own string's address and length.
//
// GUID(id) reads a block guid's length from the block (one byte per guid) and slices
// the block: no per-id string header is kept for them (16 bytes a process less, and a
// dense 1-byte array instead of a 16-byte one to read).
//
// Numbered lays out the guids "<name>-0" .. "<name>-<n-1>" (the way a scenario numbers
// an app group's processes) as such a block without putting them in the map: a guid of
// that form names its id (first + i), so Find reads a copy made elsewhere by splitting
// it at its last '-' and looking the name up among the numbered blocks (a map of a few
// names, not of millions of guids).
//
// The zero value is not usable: call NewGUIDs. Not safe for concurrent use (one run, one
// goroutine, like the rest of the control plane).
type GUIDs struct {
	ids     map[string]int32
	room    int // the size hint ids was made with
	n       int32
	segs    []guidSeg   // the ids in order: first = 0, then each segment's first follows the last
	blocks  []guidBlock // sorted by address (blockID)
	created []guidBlock // the same, in order of creation (segments name them by index)
	dir     guidDir     // blocks by address bits: blockID's O(1) way to its block
	// numbered: the index in created of the numbered block of each name (see
	// Numbered); its guids are not in ids.
	numbered map[string]int32
}

// guidSeg is a run of consecutive ids: a block's (blk >= 0, its index in created) or
// ids given one by one (loose).
type guidSeg struct {
	first int32
	blk   int32 // index in created, or -1
	loose []string
}

type guidBlock struct {
	// the fields blockID reads first
	base   uintptr
	size   uintptr // len(s)
	stride uintptr
	// recip is ceil(2^64/stride) when every offset into s fits in 32 bits and stride > 1:
	// then off%stride == 0 iff off*recip <= recip-1, and off/stride is the high word of
	// off*recip (Lemire, Kaser, Kurz, "Faster remainder by direct computation", 2019),
	// a multiplication instead of a division. 0: divide.
	recip uint64
	first int32
	lens  []uint8 // length of each entry
	s     string
	// numbered: a block Numbered laid out (entry i is its name + "-" + i), whose guids
	// are found by parsing, not in the map.
	numbered bool
}

// guidDir maps an address to the blocks that may hold it in O(1): the span from the
// lowest block's base to the highest block's end is cut into granules of 1<<shift bytes,
// and upTo[g] counts the blocks (in address order) whose base is at or below granule
// g's first byte. The last block at or below an address p in granule g is then block
// upTo[g]-1, unless a block starts inside the granule (upTo[g] < upTo[g+1]: rare, only
// where blocks meet); those few are searched. The granules are sized so that there are
// at most max(4096, 4 blocks) of them (16 bytes a block, 16 KB at least).
type guidDir struct {
	lo    uintptr // the lowest block's base
	span  uintptr // from lo to the end of the highest block; 0 when there is no block
	shift uint
	upTo  []int32 // len = granules + 1; the last entry counts all blocks
	stale bool    // blocks changed since the directory was built
}

// NewGUIDs returns an empty table.
func NewGUIDs() *GUIDs { return &GUIDs{ids: map[string]int32{}} }

// Len is the number of ids given out.
func (t *GUIDs) Len() int { return int(t.n) }

// GUID returns the guid of id (0 <= id < Len()).
func (t *GUIDs) GUID(id int32) string {
	// the last segment that starts at or before id
	i, _ := slices.BinarySearchFunc(t.segs, id, func(g guidSeg, id int32) int {
		if g.first <= id {
			return -1
		}
		return 1
	})
	g := &t.segs[i-1]
	k := int(id - g.first)
	if g.blk < 0 {
		return g.loose[k]
	}
	b := &t.created[g.blk]
	at := k * int(b.stride)
	return b.s[at : at+int(b.lens[k])]
}

// ID returns the guid's id, giving it the next one on first sight.
func (t *GUIDs) ID(guid string) int32 {
	if id, ok := t.Find(guid); ok {
		return id
	}
	return t.add(guid)
}

// add gives guid (not known yet) the next id, as a loose one.
func (t *GUIDs) add(guid string) int32 {
	id := t.n
	t.n++
	t.ids[guid] = id
	if last := len(t.segs) - 1; last >= 0 && t.segs[last].blk < 0 {
		t.segs[last].loose = append(t.segs[last].loose, guid)
	} else {
		t.segs = append(t.segs, guidSeg{first: id, blk: -1, loose: []string{guid}})
	}
	return id
}

// Find returns the guid's id, if it has one.
func (t *GUIDs) Find(guid string) (int32, bool) {
	if id, ok := t.blockID(guid); ok {
		return id, true
	}
	if id, ok := t.ids[guid]; ok {
		return id, true
	}
	return t.numberedID(guid)
}

// numberedID returns the id of guid if it is "<name>-<i>" of a numbered block (i written
// as strconv.Itoa writes it: no sign, no leading zero).
func (t *GUIDs) numberedID(guid string) (int32, bool) {
	if len(t.numbered) == 0 {
		return 0, false
	}
	dash := strings.LastIndexByte(guid, '-')
	if dash < 0 {
		return 0, false
	}
	bi, ok := t.numbered[guid[:dash]]
	if !ok {
		return 0, false
	}
	i, ok := decimal(guid[dash+1:])
	if b := &t.created[bi]; !ok || i >= len(b.lens) {
		return 0, false
	}
	return t.created[bi].first + int32(i), true
}

// decimal parses a non-negative decimal as strconv.Itoa writes it (no sign, no leading
// zero, at most 9 digits: ids are int32).
func decimal(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Numbered gives ids to "<name>-0" .. "<name>-<n-1>", in order, and returns the strings
// to use for them: exactly what Block(those guids) gives, ids and strings, but laid out
// without building the strings one by one or putting them in the map. When one of them
// has an id already (or name was numbered before), or a guid would be longer than 255
// bytes or its number than 9 digits, it is Block's.
func (t *GUIDs) Numbered(name string, n int) []string {
	l := t.NumberedList(name, n)
	return l.Append(make([]string, 0, l.Len()), 0, l.Len())
}

// GUIDList is a list of guids Numbered laid out: their strings read by position, with
// no array of string headers (16 bytes a guid: 128 MB at 8,000,000 apps, made and
// dropped by a simulator desiring them a batch at a time).
type GUIDList struct {
	t      *GUIDs
	first  int32    // the id of guid 0 of a block (its ids follow in order)
	list   []string // the strings, when they were not laid out as one block
	s      string   // else the block's bytes: entry i at i*stride, lens[i] long
	stride int
	lens   []uint8
}

// Len is the number of guids.
func (l GUIDList) Len() int {
	if l.list != nil {
		return len(l.list)
	}
	return len(l.lens)
}

// At returns guid i (0 <= i < Len()): the string Numbered returns at i.
func (l GUIDList) At(i int) string {
	if l.list != nil {
		return l.list[i]
	}
	at := i * l.stride
	return l.s[at : at+int(l.lens[i])]
}

// ID returns the id of guid i (that of At(i)) without looking the guid up when it is
// one of a block.
func (l GUIDList) ID(i int) int32 {
	if l.list != nil {
		return l.t.ID(l.list[i])
	}
	_ = l.lens[i] // i is one of the list's
	return l.first + int32(i)
}

// Append appends guids lo .. hi-1 to dst.
func (l GUIDList) Append(dst []string, lo, hi int) []string {
	if l.list != nil {
		return append(dst, l.list[lo:hi]...)
	}
	for i := lo; i < hi; i++ {
		dst = append(dst, l.At(i))
	}
	return dst
}

// NumberedList is Numbered returning the guids as a GUIDList.
func (t *GUIDs) NumberedList(name string, n int) GUIDList {
	if n <= 0 {
		return GUIDList{t: t, list: []string{}}
	}
	digits := len(strconv.Itoa(n - 1))
	stride := len(name) + 1 + digits
	_, named := t.numbered[name]
	// (numbers of more than 9 digits are not parsed back: see decimal)
	if named || stride > 255 || digits > 9 || t.anyKnown(name, n) || int64(t.n)+int64(n) > math.MaxInt32 {
		guids := make([]string, n)
		for i := range guids {
			guids[i] = name + "-" + strconv.Itoa(i)
		}
		return GUIDList{t: t, list: t.Block(guids)}
	}
	buf := make([]byte, n*stride)
	lens := make([]uint8, n)
	var num [20]byte
	for i := range n {
		e := buf[i*stride:]
		copy(e, name)
		e[len(name)] = '-'
		d := strconv.AppendInt(num[:0], int64(i), 10)
		copy(e[len(name)+1:], d)
		lens[i] = uint8(len(name) + 1 + len(d))
	}
	b := t.newBlock(buf, stride, lens)
	b.numbered = true
	if t.numbered == nil {
		t.numbered = map[string]int32{}
	}
	t.numbered[name] = int32(len(t.created))
	t.addBlock(b)
	return GUIDList{t: t, first: b.first, s: b.s, stride: stride, lens: lens}
}

// anyKnown reports whether one of "<name>-0" .. "<name>-<n-1>" has an id in the map
// (numbered blocks of other names cannot hold them: a guid's last '-' splits it into one
// name and one number). It looks the guids up when they are fewer than the map's keys,
// and otherwise parses the keys, in id order (no map iteration).
func (t *GUIDs) anyKnown(name string, n int) bool {
	if len(t.ids) == 0 {
		return false
	}
	if n <= len(t.ids) {
		for i := range n {
			if _, ok := t.ids[name+"-"+strconv.Itoa(i)]; ok {
				return true
			}
		}
		return false
	}
	known := false
	t.eachMapped(func(g string, _ int32) bool {
		if dash := strings.LastIndexByte(g, '-'); dash >= 0 && g[:dash] == name {
			if i, ok := decimal(g[dash+1:]); ok && i < n {
				known = true
			}
		}
		return !known
	})
	return known
}

// eachMapped calls f with every guid that is in the map (loose ones and those of blocks
// that are not numbered) and its id, in id order, until f returns false.
func (t *GUIDs) eachMapped(f func(guid string, id int32) bool) {
	for _, g := range t.segs {
		if g.blk < 0 {
			for k, s := range g.loose {
				if !f(s, g.first+int32(k)) {
					return
				}
			}
			continue
		}
		b := &t.created[g.blk]
		if b.numbered {
			continue
		}
		for k := range b.lens {
			at := k * int(b.stride)
			if !f(b.s[at:at+int(b.lens[k])], g.first+int32(k)) {
				return
			}
		}
	}
}

// Block gives ids to guids, in order, and returns the strings to use for them from now
// on: copies laid out in one block, whose lookups cost no hashing. Guids that already
// have ids keep them (and their strings); if any does, or a guid is empty or longer than
// 255 bytes, or the list repeats a guid, the block is not used (the guids are given ids
// one by one, and the map serves them, as for ID).
func (t *GUIDs) Block(guids []string) []string {
	stride, fresh := 0, len(guids) > 0
	for _, g := range guids {
		stride = max(stride, len(g))
		if len(g) == 0 {
			fresh = false
		}
	}
	// Every id is in the map (a block's too): block finds a known or repeated guid
	// there as it inserts, and then changes nothing (but the map's room).
	if fresh && stride <= 255 {
		if out, ok := t.block(guids, stride); ok {
			return out
		}
	}
	out := make([]string, len(guids))
	for i, g := range guids {
		out[i] = t.GUID(t.ID(g))
	}
	return out
}

// block lays out guids (none empty, none longer than stride) as a block, or reports
// false, having changed nothing but the map's room, when one of them has an id already
// or the list repeats one.
func (t *GUIDs) block(guids []string, stride int) ([]string, bool) {
	t.reserve(len(guids))
	buf := make([]byte, len(guids)*stride)
	lens := make([]uint8, len(guids))
	for i, g := range guids {
		copy(buf[i*stride:], g)
		lens[i] = uint8(len(g))
	}
	b := t.newBlock(buf, stride, lens)
	out := make([]string, len(guids))
	for i := range guids {
		out[i] = b.s[i*stride : i*stride+int(lens[i])]
		_, dup := t.ids[out[i]] // known before, or a repeat in the list
		if !dup {
			_, dup = t.numberedID(out[i])
		}
		if dup {
			for _, o := range out[:i] {
				delete(t.ids, o)
			}
			return nil, false
		}
		t.ids[out[i]] = b.first + int32(i)
	}
	t.addBlock(b)
	return out, true
}

// newBlock makes the block of buf's entries (at stride, of lengths lens), whose ids
// will follow the last one given.
func (t *GUIDs) newBlock(buf []byte, stride int, lens []uint8) guidBlock {
	b := guidBlock{s: unsafe.String(unsafe.SliceData(buf), len(buf)), size: uintptr(len(buf)), stride: uintptr(stride), first: t.n, lens: lens}
	b.base = uintptr(unsafe.Pointer(unsafe.StringData(b.s)))
	if stride > 1 && uint64(len(buf)) <= 1<<32 {
		b.recip = ^uint64(0)/uint64(stride) + 1
	}
	return b
}

// addBlock gives b's entries their ids and registers it for lookups.
func (t *GUIDs) addBlock(b guidBlock) {
	t.n += int32(len(b.lens))
	t.segs = append(t.segs, guidSeg{first: b.first, blk: int32(len(t.created))})
	t.created = append(t.created, b)
	i, _ := slices.BinarySearchFunc(t.blocks, b.base, func(x guidBlock, p uintptr) int { return cmp.Compare(x.base, p) })
	t.blocks = slices.Insert(t.blocks, i, b)
	t.dir.stale = true
}

// Reserve makes room for about n more ids at once (a driver about to create millions
// knows it): the map is sized once instead of at every block. No id changes.
func (t *GUIDs) Reserve(n int) { t.reserve(n) }

// reserve makes room in the map for n more ids at once: a block of millions would
// otherwise grow it (rehashing) step by step.
func (t *GUIDs) reserve(n int) {
	want := int(t.n) + n
	if want > t.room {
		t.room = max(want, 2*t.room)
		m := make(map[string]int32, t.room)
		t.eachMapped(func(g string, id int32) bool { // in id order: no map iteration
			m[g] = id
			return true
		})
		t.ids = m
	}
}

// EntryID returns the id of the block entry whose first byte guid starts at, reading
// neither guid's bytes nor the entry's length (the lengths are a byte per guid, millions
// of them: a cache miss for a guid not looked up lately). ok is false when guid does not
// start at an entry of a block: a loose guid, a copy made elsewhere, a string starting
// inside an entry or in its padding, an empty string (Find's map serves the first two).
//
// The id is the guid's only when guid also has the entry's length (it may be a prefix
// of the entry, or run past it). So a caller confirms the match itself, typically
// against a string it stored with the id (a guid Block returned, or GUID(id)): when
// that string has guid's address and length, guid's bytes are that string's, and the
// id is guid's (Find(guid) returns it too); otherwise it asks Find. Ids never depend on
// addresses, only the way to them does.
func (t *GUIDs) EntryID(guid string) (int32, bool) {
	b, k, ok := t.entry(guid)
	if !ok {
		return 0, false
	}
	return b.first + int32(k), true
}

// blockID returns the id of a guid that points at an entry of a block.
func (t *GUIDs) blockID(guid string) (int32, bool) {
	b, k, ok := t.entry(guid)
	if !ok || int(b.lens[k]) != len(guid) {
		return 0, false
	}
	return b.first + int32(k), true
}

// entry returns the block and the index in it of the entry whose first byte guid (not
// empty) starts at, not comparing lengths.
func (t *GUIDs) entry(guid string) (*guidBlock, uintptr, bool) {
	if t.dir.stale {
		t.dir.build(t.blocks)
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(guid)))
	off := p - t.dir.lo // wraps to a huge value below lo
	if off >= t.dir.span || len(guid) == 0 {
		return nil, 0, false
	}
	g := off >> t.dir.shift
	i := int(t.dir.upTo[g]) // blocks at or below the granule's first byte
	if next := int(t.dir.upTo[g+1]); next != i {
		// Blocks start inside the granule: count those at or below p (a few where two
		// blocks meet; a search if many small blocks share the granule).
		if next-i > 8 {
			i += sort.Search(next-i, func(j int) bool { return t.blocks[i+j].base > p })
		} else {
			for i < next && t.blocks[i].base <= p {
				i++
			}
		}
	}
	// i >= 1: block 0's base is lo, at or below the first byte of every granule.
	b := &t.blocks[i-1]
	off = p - b.base
	if off >= b.size {
		return nil, 0, false
	}
	var k uintptr
	if b.recip != 0 {
		lo := uint64(off) * b.recip
		if lo > b.recip-1 {
			return nil, 0, false // not at an entry's start
		}
		hi, _ := bits.Mul64(uint64(off), b.recip)
		k = uintptr(hi)
	} else {
		if off%b.stride != 0 {
			return nil, 0, false
		}
		k = off / b.stride
	}
	return b, k, true
}

// build makes the directory of blocks (sorted by base, not overlapping: each is its own
// allocation).
func (d *guidDir) build(blocks []guidBlock) {
	*d = guidDir{upTo: d.upTo[:0]}
	if len(blocks) == 0 {
		return
	}
	last := &blocks[len(blocks)-1]
	d.lo = blocks[0].base
	d.span = last.base + last.size - d.lo
	limit := uintptr(max(4096, 4*len(blocks)))
	for (d.span-1)>>d.shift >= limit {
		d.shift++
	}
	granules := int((d.span-1)>>d.shift) + 1
	d.upTo = slices.Grow(d.upTo, granules+1)[:granules+1]
	j := 0
	for g := range granules {
		start := d.lo + uintptr(g)<<d.shift
		for j < len(blocks) && blocks[j].base <= start {
			j++
		}
		d.upTo[g] = int32(j)
	}
	d.upTo[granules] = int32(len(blocks))
}
