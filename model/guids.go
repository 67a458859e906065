package model

import (
	"cmp"
	"slices"
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
// GUID(id) reads a block guid's length from the block (one byte per guid) and slices
// the block: no per-id string header is kept for them (16 bytes a process less, and a
// dense 1-byte array instead of a 16-byte one to read).
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
}

// guidSeg is a run of consecutive ids: a block's (blk >= 0, its index in created) or
// ids given one by one (loose).
type guidSeg struct {
	first int32
	blk   int32 // index in created, or -1
	loose []string
}

type guidBlock struct {
	s      string
	base   uintptr
	stride int
	first  int32
	lens   []uint8 // length of each entry
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
	return b.s[k*b.stride : k*b.stride+int(b.lens[k])]
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
	id, ok := t.ids[guid]
	return id, ok
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
		if _, known := t.Find(g); known {
			fresh = false
		}
	}
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

// block lays out guids (all new, none empty, none longer than stride) as a block, or
// reports false, having changed nothing, when the list repeats a guid.
func (t *GUIDs) block(guids []string, stride int) ([]string, bool) {
	t.reserve(len(guids))
	buf := make([]byte, len(guids)*stride)
	lens := make([]uint8, len(guids))
	for i, g := range guids {
		copy(buf[i*stride:], g)
		lens[i] = uint8(len(g))
	}
	b := guidBlock{s: unsafe.String(unsafe.SliceData(buf), len(buf)), stride: stride, first: t.n, lens: lens}
	b.base = uintptr(unsafe.Pointer(unsafe.StringData(b.s)))
	out := make([]string, len(guids))
	for i := range guids {
		out[i] = b.s[i*stride : i*stride+int(lens[i])]
		if _, dup := t.ids[out[i]]; dup { // none was known before: a repeat in the list
			for _, o := range out[:i] {
				delete(t.ids, o)
			}
			return nil, false
		}
		t.ids[out[i]] = b.first + int32(i)
	}
	t.n += int32(len(guids))
	t.segs = append(t.segs, guidSeg{first: b.first, blk: int32(len(t.created))})
	t.created = append(t.created, b)
	i, _ := slices.BinarySearchFunc(t.blocks, b.base, func(x guidBlock, p uintptr) int { return cmp.Compare(x.base, p) })
	t.blocks = slices.Insert(t.blocks, i, b)
	return out, true
}

// reserve makes room in the map for n more ids at once: a block of millions would
// otherwise grow it (rehashing) step by step.
func (t *GUIDs) reserve(n int) {
	want := int(t.n) + n
	if want > t.room {
		t.room = max(want, 2*t.room)
		m := make(map[string]int32, t.room)
		for id := int32(0); id < t.n; id++ { // in id order: no map iteration
			m[t.GUID(id)] = id
		}
		t.ids = m
	}
}

// blockID returns the id of a guid that points at an entry of a block.
func (t *GUIDs) blockID(guid string) (int32, bool) {
	if len(t.blocks) == 0 || len(guid) == 0 {
		return 0, false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(guid)))
	i, found := slices.BinarySearchFunc(t.blocks, p, func(x guidBlock, p uintptr) int { return cmp.Compare(x.base, p) })
	if !found {
		i--
	}
	if i < 0 {
		return 0, false
	}
	b := &t.blocks[i]
	off := p - b.base
	if off >= uintptr(len(b.s)) || off%uintptr(b.stride) != 0 {
		return 0, false
	}
	k := off / uintptr(b.stride)
	if int(b.lens[k]) != len(guid) {
		return 0, false
	}
	return b.first + int32(k), true
}
