package auction

import "slices"

// gidCounts is a cell's instance count per interned process guid (same-guid counts). It
// is an open-addressing hash table of (guid id, count) pairs of 8 bytes, linear
// probing, deletion by backward shift (no tombstones), at most 3/4 full: a lookup
// reads one or two adjacent slots of one small array, where a Go map reads a control
// word and a slot group. Its memory is that of a map[int32]int32 or less (a 250-guid
// cell: 512 slots, 4 KB). Counts are positive; a count reaching 0 removes the guid.
type gidCounts struct {
	slots []gidSlot // power-of-two length, or nil
	n     int32     // guids present
	shift uint8     // 32 - log2(len(slots))
}

// gidSlot: key is the guid id + 1 (0 = empty slot).
type gidSlot struct{ key, n int32 }

func (c *gidCounts) home(key int32) int { return int((uint32(key) * 0x9E3779B9) >> c.shift) }

// get returns the count of guid gid (0 if absent).
func (c *gidCounts) get(gid int32) int32 {
	if c.n == 0 {
		return 0
	}
	key, mask := gid+1, len(c.slots)-1
	for i := c.home(key); ; i = (i + 1) & mask {
		switch c.slots[i].key {
		case key:
			return c.slots[i].n
		case 0:
			return 0
		}
	}
}

// add moves the count of gid by d and returns the new count; the caller keeps counts
// >= 0 (RemoveLRP checks first).
func (c *gidCounts) add(gid, d int32) int32 {
	key := gid + 1
	if len(c.slots) == 0 || 4*(int(c.n)+1) > 3*len(c.slots) {
		c.grow()
	}
	mask := len(c.slots) - 1
	i := c.home(key)
	for ; c.slots[i].key != 0; i = (i + 1) & mask {
		if c.slots[i].key == key {
			v := c.slots[i].n + d
			if v != 0 {
				c.slots[i].n = v
				return v
			}
			c.del(i)
			return 0
		}
	}
	if d != 0 {
		c.slots[i] = gidSlot{key, d}
		c.n++
	}
	return d
}

// del empties slot i and shifts back the entries of its probe run that would no
// longer be found.
func (c *gidCounts) del(i int) {
	mask := len(c.slots) - 1
	for j := (i + 1) & mask; c.slots[j].key != 0; j = (j + 1) & mask {
		k := c.home(c.slots[j].key)
		// Slot j may move to i unless its home lies cyclically in (i, j].
		if (i <= j && (i < k && k <= j)) || (i > j && (i < k || k <= j)) {
			continue
		}
		c.slots[i] = c.slots[j]
		i = j
	}
	c.slots[i] = gidSlot{}
	c.n--
}

func (c *gidCounts) grow() {
	old := c.slots
	size := max(8, 2*len(old))
	c.slots = make([]gidSlot, size)
	c.shift = uint8(32)
	for s := size; s > 1; s >>= 1 {
		c.shift--
	}
	mask := size - 1
	for _, e := range old {
		if e.key == 0 {
			continue
		}
		i := c.home(e.key)
		for c.slots[i].key != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = e
	}
}

// len is the number of guids with a positive count.
func (c *gidCounts) len() int { return int(c.n) }

// ids returns the guid ids present, ascending.
func (c *gidCounts) ids() []int32 {
	out := make([]int32, 0, c.n)
	for _, e := range c.slots {
		if e.key != 0 {
			out = append(out, e.key-1)
		}
	}
	slices.Sort(out)
	return out
}
