package scenarios

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/diegolab/diegolab/model"
)

// Error is one problem found while loading a scenario. Its message names the file, the
// line (when known), the key path (for example apps[2].memory_mb) and what is expected:
//
//	quickstart.toml:41: apps[2].memory_mb: must be an integer > 0, got -5
//	quickstart.toml: override "apps.web.instances=x": apps[0].instances: must be an integer, got string "x"
//
// Load and Parse return every Error they find joined with errors.Join; use errors.As to
// get the first one, or range over the Unwrap() []error of the joined error for all.
// errors.Is(err, model.ErrInvalid) holds for every Error.
type Error struct {
	File     string // the name given to Parse (the path for Load)
	Line     int    // 1-based line in File; 0 when unknown (e.g. the key came from an override)
	Col      int    // 1-based column for syntax errors; 0 otherwise
	Key      string // key path such as "apps[2].memory_mb"; empty for syntax errors
	Override string // the "key=value" override the key came from, if any
	Msg      string // what is wrong and what is expected
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteString(":" + strconv.Itoa(e.Col))
		}
	}
	if e.Override != "" {
		b.WriteString(": override " + strconv.Quote(e.Override))
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Unwrap makes errors.Is(err, model.ErrInvalid) true.
func (e *Error) Unwrap() error { return model.ErrInvalid }

// problems collects Errors and warnings during one load.
type problems struct {
	file     string
	lines    map[string]int    // key path -> line, for keys that came from the file
	override map[string]string // key path -> the override that set it
	errs     []*Error
	warns    []*Error
}

// at builds an Error for key path key, locating it in the file or in an override.
func (p *problems) at(key, msg string) *Error {
	e := &Error{File: p.file, Key: key, Msg: msg}
	for k := key; k != ""; k = parentPath(k) {
		if o, ok := p.override[k]; ok {
			e.Override = o
			return e
		}
		if l, ok := p.lines[k]; ok {
			e.Line = l
			return e
		}
	}
	return e
}

func (p *problems) errorf(key, msg string) { p.errs = append(p.errs, p.at(key, msg)) }
func (p *problems) warnf(key, msg string)  { p.warns = append(p.warns, p.at(key, msg)) }

// err joins the collected errors, ordered by line (errors without a line last, in the
// order they were found).
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sortByLine(p.errs)
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func (p *problems) warnings() []string {
	sortByLine(p.warns)
	out := make([]string, len(p.warns))
	for i, w := range p.warns {
		out[i] = w.Error()
	}
	return out
}

func sortByLine(es []*Error) {
	sort.SliceStable(es, func(i, j int) bool {
		li, lj := es[i].Line, es[j].Line
		if li == 0 || lj == 0 {
			return li != 0 && lj == 0
		}
		return li < lj
	})
}

// parentPath drops the last element of a key path: "apps[2].memory_mb" -> "apps[2]",
// "apps[2]" -> "apps", "run" -> "".
func parentPath(k string) string {
	if strings.HasSuffix(k, "]") {
		if i := strings.LastIndexByte(k, '['); i >= 0 {
			return k[:i]
		}
	}
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}
