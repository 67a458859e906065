package model

import (
	"cmp"
	"maps"
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
// The zero value is not usable: call NewGUIDs. Not safe for concurrent use (one run, one
// goroutine, like the rest of the control plane).
type GUIDs struct {
	ids    map[string]int32
	room   int // the size hint ids was made with
	guids  []string
	blocks []guidBlock // sorted by address
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
func (t *GUIDs) Len() int { return len(t.guids) }

// GUID returns the guid of id (0 <= id < Len()).
func (t *GUIDs) GUID(id int32) string { return t.guids[id] }

// ID returns the guid's id, giving it the next one on first sight.
func (t *GUIDs) ID(guid string) int32 {
	if id, ok := t.Find(guid); ok {
		return id
	}
	id := int32(len(t.guids))
	t.ids[guid] = id
	t.guids = append(t.guids, guid)
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
// 255 bytes, or the list repeats a guid, the block is not used for lookups (the map
// serves them, as for ID).
func (t *GUIDs) Block(guids []string) []string {
	stride, fresh := 0, true
	for _, g := range guids {
		stride = max(stride, len(g))
		if len(g) == 0 {
			fresh = false
		}
		if _, known := t.Find(g); known {
			fresh = false
		}
	}
	if !fresh || stride > 255 || len(guids) == 0 {
		out := make([]string, len(guids))
		for i, g := range guids {
			out[i] = t.guids[t.ID(g)]
		}
		return out
	}
	t.reserve(len(guids))
	buf := make([]byte, len(guids)*stride)
	lens := make([]uint8, len(guids))
	for i, g := range guids {
		copy(buf[i*stride:], g)
		lens[i] = uint8(len(g))
	}
	b := guidBlock{s: unsafe.String(unsafe.SliceData(buf), len(buf)), stride: stride, first: int32(len(t.guids)), lens: lens}
	b.base = uintptr(unsafe.Pointer(unsafe.StringData(b.s)))
	out := make([]string, len(guids))
	consecutive := true
	for i := range guids {
		out[i] = b.s[i*stride : i*stride+int(lens[i])]
		if t.ID(out[i]) != b.first+int32(i) {
			consecutive = false // a repeated guid
		}
	}
	if consecutive {
		i, _ := slices.BinarySearchFunc(t.blocks, b.base, func(x guidBlock, p uintptr) int { return cmp.Compare(x.base, p) })
		t.blocks = slices.Insert(t.blocks, i, b)
	}
	return out
}

// reserve makes room for n more ids at once: a block of millions would otherwise grow
// the map (rehashing it) and the slice step by step.
func (t *GUIDs) reserve(n int) {
	want := len(t.guids) + n
	if want > t.room {
		t.room = max(want, 2*t.room)
		m := make(map[string]int32, t.room)
		maps.Copy(m, t.ids) // a copy: the iteration order cannot matter
		t.ids = m
	}
	t.guids = slices.Grow(t.guids, n)
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
