package record

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"unsafe"
)

// CellRow is one line of cells.csv: a cell's capacity and final usage.
type CellRow struct {
	CellID         string `csv:"cell_id"`
	Zone           string `csv:"zone"`
	MemoryMB       int    `csv:"memory_mb"`
	MemoryUsedMB   int    `csv:"memory_used_mb"`
	DiskMB         int    `csv:"disk_mb"`
	DiskUsedMB     int    `csv:"disk_used_mb"`
	Containers     int    `csv:"containers"`
	ContainersUsed int    `csv:"containers_used"`
	Instances      int    `csv:"instances"`
	State          string `csv:"state"`
}

// PlacementRow is one line of placements.csv: how many instances of an app a cell holds
// at the end of the run (every presence counted).
type PlacementRow struct {
	CellID      string `csv:"cell_id"`
	ProcessGUID string `csv:"process_guid"`
	Instances   int    `csv:"instances"`
}

// Sample is one line of timeseries.csv, taken every sampling interval of run time.
type Sample struct {
	T            float64 `csv:"t"`
	Desired      int     `csv:"desired"`
	Running      int     `csv:"running"`
	Claimed      int     `csv:"claimed"`
	Unclaimed    int     `csv:"unclaimed"`
	Crashed      int     `csv:"crashed"`
	Suspect      int     `csv:"suspect"`
	Evacuating   int     `csv:"evacuating"`
	TasksPending int     `csv:"tasks_pending"`
	TasksRunning int     `csv:"tasks_running"`
	CellsUp      int     `csv:"cells_up"`
	MemoryUsedMB int     `csv:"memory_used_mb"`
}

// Header lines, for documentation and tests.
var (
	CellsHeader      = header[CellRow]()
	PlacementsHeader = header[PlacementRow]()
	TimeseriesHeader = header[Sample]()
)

func header[T any]() []string {
	t := reflect.TypeFor[T]()
	h := make([]string, t.NumField())
	for i := range h {
		h[i] = t.Field(i).Tag.Get("csv")
	}
	return h
}

// WriteCSV writes rows (a slice of CellRow, PlacementRow or Sample, or any struct with
// csv tags and string, int or float64 fields) with a header to dir/name.
func WriteCSV[T any](dir, name string, rows []T) error {
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644) // as os.WriteFile
	if err != nil {
		return err
	}
	// streamed through EncodeCSV's own buffer: no copy of the whole file in memory (a
	// long run's timeseries.csv is tens of MB, and growing one cost more than writing)
	if err := EncodeCSV(f, rows); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("encode %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// EncodeCSV writes rows with a header to w, byte for byte as encoding/csv's Writer
// (comma, "\n" line ends) writes them. A row's numbers are appended straight to a line
// buffer (a number never needs quotes) and its strings too when they need none; a row
// with a string that does goes through the csv.Writer itself. A long run's
// timeseries.csv has hundreds of thousands of rows: a string per figure, and the
// Writer's check of each, were most of the write.
func EncodeCSV[T any](w io.Writer, rows []T) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header[T]()); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	t := reflect.TypeFor[T]()
	kinds := make([]reflect.Kind, t.NumField())
	offs := make([]uintptr, t.NumField())
	for f := range kinds {
		// a field of kind string, int or float64 has that type's layout (a type defined
		// on one too): it is read below through a pointer of that type
		switch k := t.Field(f).Type.Kind(); k {
		case reflect.String, reflect.Int, reflect.Float64:
			kinds[f], offs[f] = k, t.Field(f).Offset
		default:
			return fmt.Errorf("field %s: unsupported kind %s", t.Field(f).Name, k)
		}
	}
	var line []byte
	var out bytes.Buffer
	rec := make([]string, len(kinds))
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		base := unsafe.Pointer(&rows[i])
		line = line[:0]
		quoted := false
		for f, k := range kinds {
			if f > 0 {
				line = append(line, ',')
			}
			p := unsafe.Add(base, offs[f]) // field f, of the type kinds[f] names
			switch k {
			case reflect.String:
				str := *(*string)(p)
				if csvNeedsQuotes(str) {
					quoted = true
				}
				line = append(line, str...)
			case reflect.Int:
				line = strconv.AppendInt(line, int64(*(*int)(p)), 10)
			case reflect.Float64:
				line = strconv.AppendFloat(line, *(*float64)(p), 'f', -1, 64)
			}
		}
		if quoted {
			// the Writer's own quoting, for this row
			for f, k := range kinds {
				fv := v.Field(f)
				switch k {
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

// ReadCSV reads dir/name into rows of T, checking the header; errors name the line and
// column.
func ReadCSV[T any](dir, name string) ([]T, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := DecodeCSV[T](f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rows, nil
}

// DecodeCSV reads rows of T with a header from r.
func DecodeCSV[T any](r io.Reader) ([]T, error) {
	cr := csv.NewReader(r)
	want := header[T]()
	got, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if !reflect.DeepEqual(got, want) {
		return nil, fmt.Errorf("header is %v, want %v", got, want)
	}
	var rows []T
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		var row T
		v := reflect.ValueOf(&row).Elem()
		for f, s := range rec {
			fv := v.Field(f)
			switch fv.Kind() {
			case reflect.String:
				fv.SetString(s)
			case reflect.Int:
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("line %d, column %s: want an integer, got %q", line, want[f], s)
				}
				fv.SetInt(n)
			case reflect.Float64:
				x, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return nil, fmt.Errorf("line %d, column %s: want a number, got %q", line, want[f], s)
				}
				fv.SetFloat(x)
			}
		}
		rows = append(rows, row)
	}
}

// Run is a whole run record read back (events are streamed separately with ReadEvents).
type Run struct {
	Dir        string
	Summary    *Summary
	Perf       *Perf // nil if perf.json is absent
	Cells      []CellRow
	Placements []PlacementRow
	Timeseries []Sample
	// CellsCompute is cells.csv with its compute columns; nil when it has none.
	CellsCompute []CellComputeRow
}

// Read loads the run record in dir. summary.json and cells.csv are required; the other
// files are optional (a real-mode run may not have them all).
func Read(dir string) (*Run, error) {
	r := &Run{Dir: dir}
	var err error
	if r.Summary, err = ReadSummary(dir); err != nil {
		return nil, fmt.Errorf("run record %s: %w", dir, err)
	}
	if r.Cells, r.CellsCompute, err = readCells(dir); err != nil {
		return nil, fmt.Errorf("run record %s: %w", dir, err)
	}
	if p, err := ReadPerf(dir); err == nil {
		r.Perf = p
	}
	if r.Placements, err = ReadCSV[PlacementRow](dir, PlacementsFile); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("run record %s: %w", dir, err)
	}
	if r.Timeseries, err = ReadCSV[Sample](dir, TimeseriesFile); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("run record %s: %w", dir, err)
	}
	return r, nil
}
