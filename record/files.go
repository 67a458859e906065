package record

import "errors"

// Files is the part of a run record a driver writes when the run ends (or, for a live
// cluster, whenever asked): summary.json and the three tables. events.jsonl is written
// as the run goes, and perf.json by the simulator only. Both drivers write through
// WriteFiles, so `diegolab report` and `compare` read a simulated and a live run alike.
type Files struct {
	Summary    *Summary       `json:"summary"`
	Cells      []CellRow      `json:"cells"`
	Placements []PlacementRow `json:"placements"`
	Timeseries []Sample       `json:"timeseries"`
	// TimeseriesParts, when set, is written to timeseries.csv instead of Timeseries: the
	// rows of its parts in order (the simulator keeps a long run's samples in chunks).
	TimeseriesParts [][]Sample `json:"-"`
	// CellsCompute, when set (some cell declares CPU or GPUs), is written to cells.csv
	// instead of Cells: the same rows with the compute columns (compute.go).
	CellsCompute []CellComputeRow `json:"cells_compute,omitempty"`
}

// WriteFiles writes summary.json, cells.csv, placements.csv and timeseries.csv into dir
// (each file replaced whole).
func WriteFiles(dir string, f *Files) error {
	if f.Summary == nil {
		return errors.New("run record: no summary to write")
	}
	if err := WriteJSON(dir, SummaryFile, f.Summary); err != nil {
		return err
	}
	if f.CellsCompute != nil {
		if err := WriteCSV(dir, CellsFile, f.CellsCompute); err != nil {
			return err
		}
	} else if err := WriteCSV(dir, CellsFile, f.Cells); err != nil {
		return err
	}
	if err := WriteCSV(dir, PlacementsFile, f.Placements); err != nil {
		return err
	}
	if f.TimeseriesParts != nil {
		return WriteCSVParts(dir, TimeseriesFile, f.TimeseriesParts)
	}
	return WriteCSV(dir, TimeseriesFile, f.Timeseries)
}
