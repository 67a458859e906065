package record

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"unsafe"
)

// This file is the CSV codec's fast path, the one place in record that reads fields
// through their offsets: a row's numbers are appended straight to a line buffer (a
// number never needs quotes) and its strings too when they need none; a row with a
// string that may need quotes goes through encoding/csv's Writer itself, so the bytes
// are the Writer's in every case (TestEncodeCSVMatchesWriter).

// csvColumn is one column of a row type: where its field lies from the row's start
// and its kind (string, int or float64; a type defined on one has that layout).
type csvColumn struct {
	off  uintptr
	kind reflect.Kind
	path []int // the field's index path, for the Writer's path
}

func csvColumns(t reflect.Type) ([]csvColumn, error) {
	paths := columns(t)
	cols := make([]csvColumn, len(paths))
	for i, path := range paths {
		var off uintptr
		ft := t
		var f reflect.StructField
		for _, j := range path {
			f = ft.Field(j)
			off += f.Offset
			ft = f.Type
		}
		switch k := f.Type.Kind(); k {
		case reflect.String, reflect.Int, reflect.Float64:
			cols[i] = csvColumn{off: off, kind: k, path: path}
		default:
			return nil, fmt.Errorf("field %s: unsupported kind %s", f.Name, k)
		}
	}
	return cols, nil
}

// encodeRows writes rows (no header) to w.
func encodeRows[T any](w io.Writer, rows []T) error {
	cols, err := csvColumns(reflect.TypeFor[T]())
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	var line []byte
	var out bytes.Buffer
	rec := make([]string, len(cols))
	// tail holds the last row's bytes from its first comma on, when it took the fast
	// path (haveTail): a row whose later columns hold the same bits as the last row's
	// (a timeseries' counts, most rows) has the same bytes there.
	var tail []byte
	haveTail := false
	for i := range rows {
		base := unsafe.Pointer(&rows[i])
		line = line[:0]
		quoted := false
		reuse := haveTail && sameTail(cols, base, unsafe.Pointer(&rows[i-1]))
		start := 0 // where the first comma is
		for f, c := range cols {
			if f > 0 {
				if reuse {
					line = append(line, tail...)
					break
				}
				if f == 1 {
					start = len(line)
				}
				line = append(line, ',')
			}
			p := unsafe.Add(base, c.off) // column f's field, of the kind c.kind names
			switch c.kind {
			case reflect.String:
				str := *(*string)(p)
				if csvNeedsQuotes(str) {
					quoted = true
				}
				line = append(line, str...)
			case reflect.Int:
				line = strconv.AppendInt(line, int64(*(*int)(p)), 10)
			case reflect.Float64:
				line = appendFloat(line, *(*float64)(p))
			}
		}
		if !quoted && !reuse && len(cols) > 1 {
			tail, haveTail = append(tail[:0], line[start:]...), true
		}
		if quoted {
			haveTail = false
			// the Writer's own quoting, for this row
			v := reflect.ValueOf(&rows[i]).Elem()
			for f, c := range cols {
				fv := v.FieldByIndex(c.path)
				switch c.kind {
				case reflect.String:
					rec[f] = fv.String()
				case reflect.Int:
					rec[f] = strconv.FormatInt(fv.Int(), 10)
				case reflect.Float64:
					rec[f] = strconv.FormatFloat(fv.Float(), 'f', -1, 64)
				}
			}
			if err := flushCSV(w, &out); err != nil {
				return err
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
		if out.Len() >= 64<<10 {
			if err := flushCSV(w, &out); err != nil {
				return err
			}
		}
	}
	return flushCSV(w, &out)
}

// appendFloat appends v as strconv.AppendFloat(b, v, 'f', -1, 64) does. A whole
// number below 2^53 (a timeseries' seconds, mostly) is its integer's digits: the same
// bytes, for a tenth of the shortest-decimal search's cost.
func appendFloat(b []byte, v float64) []byte {
	if i := int64(v); float64(i) == v && i > -1<<53 && i < 1<<53 && (i != 0 || !math.Signbit(v)) {
		return strconv.AppendInt(b, i, 10)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// sameTail reports whether the columns after the first hold the same bits in the rows
// at a and b (a string: the same bytes at the same address), so that they format alike.
func sameTail(cols []csvColumn, a, b unsafe.Pointer) bool {
	for _, c := range cols[1:] {
		pa, pb := unsafe.Add(a, c.off), unsafe.Add(b, c.off)
		switch c.kind {
		case reflect.String:
			if *(*string)(pa) == "" && *(*string)(pb) == "" {
				continue
			}
			if unsafe.StringData(*(*string)(pa)) != unsafe.StringData(*(*string)(pb)) || len(*(*string)(pa)) != len(*(*string)(pb)) {
				return false
			}
		case reflect.Int:
			if *(*int)(pa) != *(*int)(pb) {
				return false
			}
		case reflect.Float64:
			if math.Float64bits(*(*float64)(pa)) != math.Float64bits(*(*float64)(pb)) {
				return false
			}
		}
	}
	return true
}

// flushCSV writes buf's bytes to w and empties it.
func flushCSV(w io.Writer, buf *bytes.Buffer) error {
	if buf.Len() == 0 {
		return nil
	}
	_, err := w.Write(buf.Bytes())
	buf.Reset()
	return err
}

// csvNeedsQuotes reports whether encoding/csv's Writer (comma separator) may quote
// field: when it holds a comma, a quote or a line break, is `\.`, or may start with a
// space (a byte unicode.IsSpace can start: ASCII white space, or any non-ASCII byte, for
// which the Writer is asked). It errs towards true: such a row is the Writer's.
func csvNeedsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field == `\.` {
		return true
	}
	switch c := field[0]; {
	case c == ' ' || c == '\t' || c == '\v' || c == '\f' || c >= 0x80:
		return true
	}
	for i := 0; i < len(field); i++ {
		if c := field[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}
