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
	for i := range rows {
		base := unsafe.Pointer(&rows[i])
		line = line[:0]
		quoted := false
		for f, c := range cols {
			if f > 0 {
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
		if quoted {
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
