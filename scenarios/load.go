package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads the scenario file at path and parses it with Parse.
func Load(path string, overrides ...string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(path, data, overrides...)
}

// Parse decodes and validates a scenario. name is the file name used in messages and
// for the default run name. overrides are "key=value" settings applied before
// validation; the value is a TOML value ("run.seed=7", `timers.convergence_interval="10s"`),
// or taken as a plain string when it is not valid TOML (timers.kick_task=10s). Keys
// address run.<key>, auction.<key>, timers.<key>, and the [[cells]], [[apps]] and
// [[tasks]] groups by name: apps.web.instances=10 (cells.<name> sets every cell group of
// that name).
//
// On failure the error joins one *Error per problem found (errors.Join), each naming
// the file, the line when known, the key path and what is expected.
func Parse(name string, data []byte, overrides ...string) (*Scenario, error) {
	p := &problems{file: name, override: map[string]string{}}

	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, syntaxError(name, err)
	}
	p.lines = lineIndex(data, &md)

	normalizeArrays(raw)
	for _, o := range overrides {
		applyOverride(raw, o, p)
	}
	checkStructure(raw, p)

	// Decode the (overridden) map into the schema: re-encode it and decode the text, so
	// the library's MetaData reports the keys the schema does not know.
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(raw); err != nil {
		p.errorf("", "cannot be represented after overrides: "+err.Error())
		return nil, p.err()
	}
	var doc fileDoc
	md2, err := toml.Decode(buf.String(), &doc)
	if err != nil {
		p.errorf("", "cannot be decoded after overrides: "+err.Error())
		return nil, p.err()
	}
	unknownKeys(&md2, p)

	s := build(name, &doc, p)
	if err := p.err(); err != nil {
		return nil, err
	}
	s.Warnings = p.warnings()
	return s, nil
}

// syntaxError turns the library's ParseError into an *Error with line and column.
func syntaxError(name string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := "invalid TOML: " + pe.Message
		if pe.LastKey != "" {
			msg += " (after key " + pe.LastKey + ")"
		}
		if u := strings.TrimSpace(pe.Usage); u != "" {
			msg += "; " + strings.Join(strings.Fields(u), " ")
		}
		return errors.Join(&Error{File: name, Line: pe.Position.Line, Col: pe.Position.Col, Msg: msg})
	}
	return errors.Join(&Error{File: name, Msg: "invalid TOML: " + err.Error()})
}

// lineIndex maps the key paths of a decoded file ("apps[2].memory_mb", "apps[2]") to
// the line where they are defined. The library keeps key positions private (and the
// keys of all [[apps]] elements share one entry), so lines are found with the library
// alone: prefixes of the text ending at successive lines are decoded, and the keys a
// prefix adds over the previous successful one start on the first line after it (a
// multi-line value is attributed to the line where it starts). Blank and comment-only
// lines cannot add keys and are skipped.
//
// To keep this linear in practice, the text is first cut before every line that starts
// with "[" (a table header, unless it sits inside a multi-line value), and each piece is
// decoded on its own. The cut is used only if the pieces' keys, in order, are exactly
// the file's keys; otherwise the whole file is scanned. Inputs too large for that get
// no line numbers.
func lineIndex(data []byte, md *toml.MetaData) map[string]int {
	keys := md.Keys()
	paths := indexedPaths(md, keys)
	lines := make(map[string]int, len(paths))
	all := splitLines(data)

	// Pieces start at line 0 and at every line whose text starts with "[".
	var found []keyLine
	ok := true
	pieceStart := 0
	for i := 0; i <= len(all) && ok; i++ {
		if i < len(all) && (i == 0 || !all[i].header) {
			continue
		}
		if i > pieceStart {
			var got []keyLine
			got, ok = prefixKeys(data, all[pieceStart:i], all[pieceStart].start)
			found = append(found, got...)
		}
		pieceStart = i
	}
	if ok && len(found) == len(keys) {
		for j, k := range keys {
			if found[j].key != k.String() {
				ok = false
				break
			}
		}
	} else {
		ok = false
	}
	if !ok {
		if len(all)*len(data) > 64<<20 {
			return lines
		}
		found, _ = prefixKeys(data, all, 0)
	}
	for j := 0; j < len(found) && j < len(paths); j++ {
		if _, dup := lines[paths[j]]; !dup {
			lines[paths[j]] = found[j].line
		}
	}
	return lines
}

type textLine struct {
	no, start, end int  // 1-based line number; byte range including the newline
	blank, header  bool // only whitespace or a comment; starts with "["
}

func splitLines(data []byte) []textLine {
	var out []textLine
	for no, start := 1, 0; start < len(data); no++ {
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += start + 1
		}
		t := bytes.TrimSpace(data[start:end])
		out = append(out, textLine{no: no, start: start, end: end, blank: len(t) == 0 || t[0] == '#', header: len(t) > 0 && t[0] == '['})
		start = end
	}
	return out
}

type keyLine struct {
	key  string
	line int
}

// prefixKeys decodes data[from:l.end] for each non-blank line l of lines and returns
// the keys in order with the line where each starts; ok is false when the whole piece
// does not decode.
func prefixKeys(data []byte, lines []textLine, from int) (found []keyLine, ok bool) {
	next := 0 // index in lines of the first line after the last good prefix
	for i, l := range lines {
		if l.blank && i < len(lines)-1 {
			continue
		}
		var sink struct{}
		pmd, err := toml.Decode(string(data[from:l.end]), &sink)
		if err != nil {
			ok = false
			continue
		}
		ok = true
		first := next
		for first < i && lines[first].blank {
			first++
		}
		for _, k := range pmd.Keys()[len(found):] {
			found = append(found, keyLine{k.String(), lines[first].no})
		}
		next = i + 1
	}
	return found, ok
}

// indexedPaths renders each key with the index of every [[array]] element it is in:
// the header of the third [[apps]] is "apps[2]", a key under it "apps[2].memory_mb".
func indexedPaths(md *toml.MetaData, keys []toml.Key) []string {
	seen := map[string]int{} // array-of-tables key -> headers seen so far
	out := make([]string, len(keys))
	var b strings.Builder
	for i, k := range keys {
		full := k.String()
		if md.Type(k...) == "ArrayHash" {
			seen[full]++
		}
		b.Reset()
		for j := range k {
			if j > 0 {
				b.WriteByte('.')
			}
			b.WriteString(quoteSegment(k[j]))
			if n := seen[k[:j+1].String()]; n > 0 {
				b.WriteString("[" + strconv.Itoa(n-1) + "]")
			}
		}
		out[i] = b.String()
	}
	return out
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func quoteSegment(s string) string {
	if bareKey.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

// normalizeArrays turns arrays of inline tables (apps = [{...}, {...}]) at the top level
// into the []map[string]any that [[apps]] decodes to, so both spellings behave alike.
func normalizeArrays(raw map[string]any) {
	for _, k := range arrayTables {
		arr, ok := raw[k].([]any)
		if !ok {
			continue
		}
		tables := make([]map[string]any, 0, len(arr))
		for _, v := range arr {
			m, ok := v.(map[string]any)
			if !ok {
				tables = nil
				break
			}
			tables = append(tables, m)
		}
		if tables != nil {
			raw[k] = tables
		}
	}
}

// checkStructure reports (and removes) top-level keys of the wrong kind, so the
// schema decode below cannot fail on them.
func checkStructure(raw map[string]any, p *problems) {
	for _, k := range []string{"run", "auction", "timers", "network", "calibration", "trace"} {
		if v, ok := raw[k]; ok {
			if _, isTable := v.(map[string]any); !isTable {
				p.errorf(k, fmt.Sprintf("must be a table ([%s]), got %s", k, describe(v)))
				delete(raw, k)
			}
		}
	}
	for _, k := range arrayTables {
		if v, ok := raw[k]; ok {
			if _, isArray := v.([]map[string]any); !isArray {
				p.errorf(k, fmt.Sprintf("must be an array of tables ([[%s]]), got %s", k, describe(v)))
				delete(raw, k)
			}
		}
	}
}

// unknownKeys reports keys the schema does not have: those MetaData.Undecoded lists,
// and those the library matched only case-insensitively (keys are case-sensitive here).
// Only the outermost unknown key of a subtree is reported.
func unknownKeys(md *toml.MetaData, p *problems) {
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	keys := md.Keys()
	paths := indexedPaths(md, keys)
	var reported []string
	for i, k := range keys {
		table := ""
		if len(k) == 2 {
			table = k[0]
		}
		known, isSchemaTable := knownKeys[table]
		isSchemaTable = isSchemaTable && len(k) <= 2
		if !undecoded[k.String()] && !(isSchemaTable && !slices.Contains(known, k[len(k)-1])) {
			continue
		}
		if slices.ContainsFunc(reported, func(r string) bool { return strings.HasPrefix(paths[i], r+".") }) {
			continue
		}
		reported = append(reported, paths[i])
		msg := "unknown key"
		where := "the top level"
		if table != "" {
			where = "[" + table + "]"
			if slices.Contains(arrayTables, table) {
				where = "[[" + table + "]]"
			}
		}
		if isSchemaTable {
			if s := suggest(k[len(k)-1], known); s != "" {
				msg += " (" + s + ")"
			} else if table == "" {
				msg += topLevelKeys()
			} else {
				msg += fmt.Sprintf(" (%s takes %s)", where, strings.Join(known, ", "))
			}
		}
		p.errorf(paths[i], msg)
	}
}

// applyOverride sets one "key=value" override in raw and records which key path it
// set, so later errors on that key name the override.
func applyOverride(raw map[string]any, o string, p *problems) {
	bad := func(msg string) { p.errs = append(p.errs, &Error{File: p.file, Override: o, Msg: msg}) }
	key, text, ok := strings.Cut(o, "=")
	key, text = strings.TrimSpace(key), strings.TrimSpace(text)
	if !ok || key == "" {
		bad("expected key=value, e.g. run.seed=7 or apps.web.instances=10")
		return
	}
	val, err := overrideValue(text)
	if err != nil {
		bad(err.Error())
		return
	}
	segs := strings.Split(key, ".")
	for _, s := range segs {
		if s == "" {
			bad("empty key segment in " + strconv.Quote(key))
			return
		}
	}
	switch segs[0] {
	case "run", "auction", "timers", "calibration":
		if len(segs) < 2 {
			bad(fmt.Sprintf("expected %s.<key>=value", segs[0]))
			return
		}
		if _, ok := raw[segs[0]]; !ok {
			raw[segs[0]] = map[string]any{}
		}
		tbl, ok := raw[segs[0]].(map[string]any)
		if !ok {
			bad(segs[0] + " is not a table in the file")
			return
		}
		if msg := setPath(tbl, segs[1:], val); msg != "" {
			bad(msg)
			return
		}
		p.override[pathOf(segs)] = o
	case "cells", "apps", "tasks":
		if len(segs) < 3 {
			bad(fmt.Sprintf("expected %s.<group name>.<key>=value", segs[0]))
			return
		}
		groups, _ := raw[segs[0]].([]map[string]any)
		var names []string
		matched := false
		for i, g := range groups {
			n, _ := g["name"].(string)
			if _, has := g["name"]; !has && segs[0] == "cells" {
				n = "cell"
			}
			names = append(names, n)
			if n != segs[1] {
				continue
			}
			matched = true
			if msg := setPath(g, segs[2:], val); msg != "" {
				bad(msg)
				return
			}
			p.override[segs[0]+"["+strconv.Itoa(i)+"]."+pathOf(segs[2:])] = o
		}
		if !matched {
			bad(fmt.Sprintf("no [[%s]] group named %q (groups: %s)", segs[0], segs[1], strings.Join(names, ", ")))
		}
	case "docker_cache", "network":
		if !setTopLevel(raw, segs, val, bad) {
			return
		}
		p.override[pathOf(segs)] = o
	default:
		bad(fmt.Sprintf("unknown key %q: overrides address run.<key>, auction.<key>, timers.<key>, calibration.<key>, cells.<name>.<key>, apps.<name>.<key>, tasks.<name>.<key>, docker_cache or network.<key>", key))
	}
}

// overrideValue parses an override's value as a TOML value; text that is not TOML and
// has no quotes, brackets or braces is taken as a plain string.
func overrideValue(text string) (any, error) {
	var m map[string]any
	_, err := toml.Decode("v = "+text, &m)
	if err == nil && len(m) == 1 {
		if v, ok := m["v"]; ok {
			return v, nil
		}
	}
	if text != "" && !strings.ContainsAny(text, "\"'[]{}\n\r=#") {
		return text, nil
	}
	msg := "not a TOML value"
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg += ": " + pe.Message
	}
	return nil, fmt.Errorf("%s (quote strings: key=\"text\")", msg)
}

// setPath sets tbl[segs...] = val, creating tables on the way; it returns a message
// when a segment on the way is not a table.
func setPath(tbl map[string]any, segs []string, val any) string {
	for i, s := range segs[:len(segs)-1] {
		next, ok := tbl[s]
		if !ok {
			m := map[string]any{}
			tbl[s] = m
			tbl = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s is %s, not a table", strings.Join(segs[:i+1], "."), describe(next))
		}
		tbl = m
	}
	tbl[segs[len(segs)-1]] = val
	return ""
}

func pathOf(segs []string) string {
	q := make([]string, len(segs))
	for i, s := range segs {
		q[i] = quoteSegment(s)
	}
	return strings.Join(q, ".")
}

// describe names a decoded TOML value's type (and the value, when short) for messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:37] + "..."
		}
		return "string " + strconv.Quote(x)
	case int64:
		return "integer " + strconv.FormatInt(x, 10)
	case float64:
		return "float " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "boolean " + strconv.FormatBool(x)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "datetime " + x.Format(time.RFC3339)
	case nil:
		return "nothing"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// baseName is the default run name: the file name without directory and .toml.
func baseName(name string) string {
	return strings.TrimSuffix(filepath.Base(name), ".toml")
}
