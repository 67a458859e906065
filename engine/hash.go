package engine

import "strconv"

// FNV-64a parameters (http://www.isthe.com/chongo/tech/comp/fnv/).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mixWord folds one 64-bit word into the trace state: the FNV-1a step applied to the
// whole word (xor, then multiply by the FNV prime) and a xor-shift that carries the high
// bits of the product down, so every input bit reaches every output bit within two
// words. One multiply per word instead of eight per byte: the trace hash is on the
// kernel's hot path.
func mixWord(h, v uint64) uint64 {
	h = (h ^ v) * fnvPrime
	return h ^ h>>32
}

// fnvString folds the bytes of s into the FNV-64a state h.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// Mix folds v into the trace hash. Drivers mix in their decisions (a chosen cell, a
// sampled outcome) so that two runs agree on the hash only if they agree on those
// decisions too.
func (k *Kernel) Mix(v uint64) { k.hash = mixWord(k.hash, v) }

// MixString folds s into the trace hash: its length (as Mix would) and then its bytes
// (FNV-1a, byte by byte), so that MixString("ab"); MixString("c") and MixString("a");
// MixString("bc") differ.
func (k *Kernel) MixString(s string) {
	k.hash = fnvString(mixWord(k.hash, uint64(len(s))), s)
}

// Hash is the trace hash so far: starting at the FNV-64a offset basis, every processed
// event is folded in the order run as four words (time as int64 nanoseconds, Kind, A, B;
// see mixWord), interleaved with whatever the driver mixed in.
func (k *Kernel) Hash() uint64 { return k.hash }

// HashHex is Hash as 16 lower-case hex digits.
func (k *Kernel) HashHex() string {
	s := strconv.FormatUint(k.hash, 16)
	const zeros = "0000000000000000"
	return zeros[:16-len(s)] + s
}
