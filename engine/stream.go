package engine

import "math/rand/v2"

// Stream returns the random stream called name: a *rand.Rand (PCG) derived from the run seed
// and the name only (see NewStream). The same name returns the same *rand.Rand, so draws
// continue where they left off; creating or drawing from other streams never changes it.
func (k *Kernel) Stream(name string) *rand.Rand {
	if r, ok := k.streams[name]; ok {
		return r
	}
	if k.streams == nil {
		k.streams = make(map[string]*rand.Rand)
	}
	r := NewStream(k.seed, name)
	k.streams[name] = r
	return r
}

// NewStream returns a fresh PCG generator seeded from (seed, name) alone:
//
//	n      = FNV-64a(name)
//	x      = splitmix64(seed) XOR n, then two SplitMix64 steps from x give the PCG's two
//	         64-bit seed words.
//
// SplitMix64's finaliser spreads every input bit over every output bit, so neighbouring
// seeds and similar names still give unrelated streams.
func NewStream(seed uint64, name string) *rand.Rand {
	n := fnvString(fnvOffset, name)
	x := splitmix64(&seed) ^ n
	hi := splitmix64(&x)
	lo := splitmix64(&x)
	return rand.New(rand.NewPCG(hi, lo))
}

// splitmix64 advances *state by the golden-ratio increment and returns the mixed value
// (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014).
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
