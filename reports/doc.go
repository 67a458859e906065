// Package reports turns run records (package record) into self-contained HTML reports:
// one run (`diegolab report`, and `diegolab run` through WriteRunReport) or several
// runs side by side (`diegolab compare`).
//
// # Pipeline
//
//	record.Read + record.ReadEvents  ->  Load / Compute  ->  RunData (plain structs)
//	RunData...                       ->  Compare         ->  CompareData (plain structs)
//	RunData / CompareData            ->  go-echarts      ->  ECharts options
//	options + echarts.min.js         ->  html/template   ->  one HTML file
//
// Every chart's data is computed first, as plain Go values (CellMapData,
// EvennessData, ZoneBalanceData, TimelineData, FailuresData, AuctionData,
// StagingData, CompareData); the golden tests (testdata/*.golden.json, rewritten with
// `go test ./reports -update`) pin those values, not HTML bytes. Rendering only maps
// them to go-echarts options.
//
// # Invariants
//
//   - Same run record => same report bytes: maps are read in sorted key order, chart
//     ids are fixed, nothing reads a clock or a random source.
//   - Staging charts (push latency by phase, versions per app, bytes pulled by source)
//     come from summary.json's optional "staging" section alone and are drawn only
//     when it is there. In a comparison, side-by-side staging charts share their
//     value axes, the digest colours and the list of staging transfers, so bars
//     compare at a glance.
//   - No page is wider than its window: settings are a key/value table, long cell
//     text wraps, and wide tables scroll inside their own box.
//   - Optional inputs (placements.csv, timeseries.csv, events.jsonl) may be absent;
//     the report then leaves out the charts that need them and says so in a note.
//     Zero capacities and zero means give fractions and CoVs of 0, never NaN.
//   - Small files: time series and sorted distributions keep at most MaxPoints
//     points, histograms and failure bins at most MaxBins bins, and above MaxTiles
//     cells consecutive cells of a zone share a cell-map tile. A 10,000-cell report
//     is about 1.7 MB, ECharts included.
//   - Self-contained: echarts.min.js (ECharts EChartsVersion, the version go-echarts
//     v2.6.7 targets) is inlined, found by FindAsset: $DIEGOLAB_ECHARTS, the copy
//     embedded at build time from assets/ (fetched by `make echarts`, never
//     committed), next to the binary, or reports/assets. Without it the page links
//     echarts.min.js beside the report file and says so, in the page and on stderr.
//   - Run data never reaches the page unescaped: HTML goes through html/template or
//     html.EscapeString, and "</" in script data is written "<\/".
package reports
