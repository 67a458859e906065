package record

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
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
	cols := columns(t)
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = t.FieldByIndex(c).Tag.Get("csv")
	}
	return h
}

// columns lists the field index paths of a row type's columns in order: its fields,
// with an embedded struct's fields in its place (CellComputeRow embeds CellRow).
func columns(t reflect.Type) [][]int {
	var out [][]int
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			for _, sub := range columns(f.Type) {
				out = append(out, append([]int{i}, sub...))
			}
			continue
		}
		out = append(out, []int{i})
	}
	return out
}

// WriteCSV writes rows (a slice of CellRow, PlacementRow or Sample, or any struct with
// csv tags and string, int or float64 fields) with a header to dir/name.
func WriteCSV[T any](dir, name string, rows []T) error {
	return WriteCSVParts(dir, name, [][]T{rows})
}

// WriteCSVParts is WriteCSV for rows kept in parts: the file holds the header, then
// every part's rows in order (a long run's timeseries, kept in chunks as it grows).
func WriteCSVParts[T any](dir, name string, parts [][]T) error {
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644) // as os.WriteFile
	if err != nil {
		return err
	}
	// streamed through EncodeCSV's own buffer: no copy of the whole file in memory (a
	// long run's timeseries.csv is tens of MB, and growing one cost more than writing)
	if err := EncodeCSVParts(f, parts); err != nil {
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
// (comma, "\n" line ends) writes them. Fields are string, int or float64 (or types
// defined on them); an embedded struct's fields are columns in its place. The rows are
// formatted by encodeRows (csvfast.go): a long run's timeseries.csv has hundreds of
// thousands of rows, and a string per figure and the Writer's check of each were most
// of the write.
func EncodeCSV[T any](w io.Writer, rows []T) error {
	return EncodeCSVParts(w, [][]T{rows})
}

// EncodeCSVParts is EncodeCSV for rows kept in parts: one header, then every part's
// rows in order, the bytes EncodeCSV writes for the parts joined.
func EncodeCSVParts[T any](w io.Writer, parts [][]T) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header[T]()); err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	for _, rows := range parts {
		if err := encodeRows(w, rows); err != nil {
			return err
		}
	}
	return nil
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
	cols := columns(reflect.TypeFor[T]())
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
			fv := v.FieldByIndex(cols[f])
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
