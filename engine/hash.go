package engine

import "strconv"

// FNV-64a parameters (http://www.isthe.com/chongo/tech/comp/fnv/).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvUint64 folds the 8 bytes of v, least significant first, into the FNV-64a state h.
func fnvUint64(h, v uint64) uint64 {
	h = (h ^ (v & 0xff)) * fnvPrime
	h = (h ^ (v >> 8 & 0xff)) * fnvPrime
	h = (h ^ (v >> 16 & 0xff)) * fnvPrime
	h = (h ^ (v >> 24 & 0xff)) * fnvPrime
	h = (h ^ (v >> 32 & 0xff)) * fnvPrime
	h = (h ^ (v >> 40 & 0xff)) * fnvPrime
	h = (h ^ (v >> 48 & 0xff)) * fnvPrime
	h = (h ^ (v >> 56)) * fnvPrime
	return h
}

// fnvUint32 folds the 4 bytes of v, least significant first, into the FNV-64a state h.
func fnvUint32(h uint64, v uint32) uint64 {
	h = (h ^ uint64(v&0xff)) * fnvPrime
	h = (h ^ uint64(v>>8&0xff)) * fnvPrime
	h = (h ^ uint64(v>>16&0xff)) * fnvPrime
	h = (h ^ uint64(v>>24)) * fnvPrime
	return h
}

// fnvString folds the bytes of s into the FNV-64a state h.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// Mix folds v (8 bytes, little-endian) into the trace hash. Drivers mix in their decisions
// (a chosen cell, a sampled outcome) so that two runs agree on the hash only if they agree
// on those decisions too.
func (k *Kernel) Mix(v uint64) { k.hash = fnvUint64(k.hash, v) }

// MixString folds s into the trace hash: its length (as Mix would) and then its bytes, so
// that MixString("ab"); MixString("c") and MixString("a"); MixString("bc") differ.
func (k *Kernel) MixString(s string) {
	k.hash = fnvString(fnvUint64(k.hash, uint64(len(s))), s)
}

// Hash is the trace hash so far: FNV-64a over every processed event, in the order run
// (time as int64 nanoseconds, Kind, A, B; little-endian), interleaved with whatever the
// driver mixed in. It starts at the FNV-64a offset basis.
func (k *Kernel) Hash() uint64 { return k.hash }

// HashHex is Hash as 16 lower-case hex digits.
func (k *Kernel) HashHex() string {
	s := strconv.FormatUint(k.hash, 16)
	const zeros = "0000000000000000"
	return zeros[:16-len(s)] + s
}
