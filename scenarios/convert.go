package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The conversions below turn a rawValue into a Go value, reporting a problem at key
// (a key path such as "apps[2].memory_mb") when it has the wrong type or range. When
// the value is absent they return the default (and report it when required).

// intRange is the set of acceptable integers: [lo, hi] with a human description.
type intRange struct {
	lo, hi int64
	what   string // e.g. "an integer > 0 (MB of memory)"
}

func (p *problems) integer(key string, r rawValue, def int, rg intRange, required bool) int {
	if !r.set {
		if required {
			p.errorf(key, "missing; expected "+rg.what)
		}
		return def
	}
	v, ok := r.v.(int64)
	if !ok {
		p.errorf(key, fmt.Sprintf("must be %s, got %s", rg.what, describe(r.v)))
		return def
	}
	if v < rg.lo || v > rg.hi {
		p.errorf(key, fmt.Sprintf("must be %s, got %d", rg.what, v))
		return def
	}
	return int(v)
}

type floatRange struct {
	lo, hi float64
	what   string
}

func (p *problems) float(key string, r rawValue, def float64, rg floatRange) float64 {
	if !r.set {
		return def
	}
	var v float64
	switch x := r.v.(type) {
	case float64:
		v = x
	case int64:
		v = float64(x)
	default:
		p.errorf(key, fmt.Sprintf("must be %s, got %s", rg.what, describe(r.v)))
		return def
	}
	if math.IsNaN(v) || v < rg.lo || v > rg.hi {
		p.errorf(key, fmt.Sprintf("must be %s, got %s", rg.what, strconv.FormatFloat(v, 'g', -1, 64)))
		return def
	}
	return v
}

func (p *problems) boolean(key string, r rawValue, def bool) bool {
	if !r.set {
		return def
	}
	v, ok := r.v.(bool)
	if !ok {
		p.errorf(key, "must be true or false, got "+describe(r.v))
		return def
	}
	return v
}

func (p *problems) str(key string, r rawValue, def string, required bool, what string) string {
	if !r.set {
		if required {
			p.errorf(key, "missing; expected "+what)
		}
		return def
	}
	v, ok := r.v.(string)
	if !ok {
		p.errorf(key, fmt.Sprintf("must be %s, got %s", what, describe(r.v)))
		return def
	}
	return v
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// name reads a group name: letters, digits, '_' and '-' (the BBS's task guid rule, so
// that "<name>-<n>" is a valid guid).
func (p *problems) name(key string, r rawValue, def string, required bool) string {
	const what = `a name of letters, digits, "_" and "-"`
	v := p.str(key, r, def, required, what)
	if r.set && !namePattern.MatchString(v) {
		p.errorf(key, fmt.Sprintf("must be %s, got %q", what, v))
		return def
	}
	return v
}

func (p *problems) strings(key string, r rawValue, def []string) []string {
	if !r.set {
		return slices.Clone(def)
	}
	arr, ok := r.v.([]any)
	if !ok {
		p.errorf(key, `must be an array of strings such as ["a", "b"], got `+describe(r.v))
		return slices.Clone(def)
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok || strings.TrimSpace(s) == "" {
			p.errorf(fmt.Sprintf("%s[%d]", key, i), "must be a non-empty string, got "+describe(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// duration reads a duration string ("90s", "1h30m"). min is the smallest allowed value
// and strict whether it is excluded (durations that must be > 0).
func (p *problems) duration(key string, r rawValue, def time.Duration, required, positive bool) time.Duration {
	what := `a duration such as "90s", "10m" or "1h30m"`
	if positive {
		what += " (> 0)"
	} else {
		what += " (>= 0)"
	}
	if !r.set {
		if required {
			p.errorf(key, "missing; expected "+what)
		}
		return def
	}
	d, ok := p.parseDuration(key, r.v, what)
	if !ok {
		return def
	}
	if d < 0 || (positive && d == 0) {
		p.errorf(key, fmt.Sprintf("must be %s, got %q", what, d))
		return def
	}
	return d
}

func (p *problems) parseDuration(key string, v any, what string) (time.Duration, bool) {
	s, ok := v.(string)
	if !ok {
		hint := ""
		if _, isNum := v.(int64); isNum {
			hint = fmt.Sprintf(` (write "%ds" for seconds)`, v)
		}
		p.errorf(key, fmt.Sprintf("must be %s, got %s%s", what, describe(v), hint))
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errorf(key, fmt.Sprintf("must be %s, got %q (units: ns, us, ms, s, m, h)", what, s))
		return 0, false
	}
	return d, true
}

// dist reads a distribution: an inline table {dist = KIND, ...} with exactly the
// fields of KIND, or a plain duration string as shorthand for const.
func (p *problems) dist(key string, r rawValue, def Dist, required bool) Dist {
	const forms = `{dist = "const", value = "5s"}, {dist = "uniform", min, max}, {dist = "exp", mean}, {dist = "lognormal", median, sigma} or {dist = "normal", mean, stddev}`
	if !r.set {
		if required {
			p.errorf(key, "missing; expected a distribution such as "+forms)
		}
		return def
	}
	if s, ok := r.v.(string); ok {
		d, ok := p.parseDuration(key, s, `a duration such as "5s" or a distribution table`)
		if !ok {
			return def
		}
		if d < 0 {
			p.errorf(key, fmt.Sprintf("must be >= 0, got %q", s))
			return def
		}
		return Const(d)
	}
	m, ok := r.v.(map[string]any)
	if !ok {
		p.errorf(key, "must be a distribution such as "+forms+", got "+describe(r.v))
		return def
	}
	kindV, ok := m["dist"]
	if !ok {
		p.errorf(key+".dist", "missing; expected one of "+strings.Join(distKinds, ", "))
		return def
	}
	kind, ok := kindV.(string)
	fields, known := distFields[kind]
	if !ok || !known {
		p.errorf(key+".dist", fmt.Sprintf("unknown distribution %s (want %s)", describe(kindV), strings.Join(distKinds, ", ")))
		return def
	}
	before := len(p.errs)
	for _, k := range sortedKeys(m) {
		if k != "dist" && !slices.Contains(fields, k) {
			p.errorf(key+"."+quoteSegment(k), fmt.Sprintf("not a field of %s distribution (it takes %s)", article(kind), strings.Join(fields, ", ")))
		}
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			p.errorf(key+"."+f, fmt.Sprintf("missing; %s distribution needs %s", article(kind), strings.Join(fields, " and ")))
		}
	}
	if len(p.errs) > before {
		return def
	}
	dur := func(f string, positive bool) time.Duration {
		return p.duration(key+"."+f, rawValue{v: m[f], set: true}, 0, true, positive)
	}
	d := Dist{Kind: kind}
	switch kind {
	case DistConst:
		d.Value = dur("value", false)
	case DistUniform:
		d.Min, d.Max = dur("min", false), dur("max", false)
		if d.Max < d.Min {
			p.errorf(key+".max", fmt.Sprintf("must be >= min (%s), got %s", d.Min, d.Max))
		}
	case DistExp:
		d.Mean = dur("mean", true)
	case DistLognormal:
		d.Median = dur("median", true)
		d.Sigma = p.float(key+".sigma", rawValue{v: m["sigma"], set: true}, 0, floatRange{0, 10, "a number between 0 and 10"})
	case DistNormal:
		d.Mean, d.Stddev = dur("mean", false), dur("stddev", false)
	}
	if len(p.errs) > before {
		return def
	}
	return d
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func article(kind string) string {
	if kind == DistExp {
		return "an " + kind
	}
	return "a " + kind
}
