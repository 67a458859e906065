package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"time"

	"github.com/diegolab/diegolab/real/api"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"
)

// DockerRecordFile is the run record's Docker part, written beside summary.json
// by Record when the cluster runs registries.
const DockerRecordFile = "docker.json"

// DockerRecord is docker.json: what instance starts pulled, by source, in the
// simulator's words (summary.json's staging.bytes_pulled: public = the upstream
// registry, private = the platform's cache, cell_cache = layers a cell already
// had), and the registries' own counters. The reps' counters live in their
// processes: a rep that died since it pulled took its counts with it.
type DockerRecord struct {
	BytesPulled map[string]int64 `json:"bytes_pulled"`
	// Pulls counts instance starts' pulls by result (ok, failed); PullsFrom the
	// successful ones by source (public, private, other).
	Pulls      map[string]int64 `json:"pulls"`
	PullsFrom  map[string]int64 `json:"pulls_from"`
	Registries RegistryStats    `json:"registries"`
	Cells      []DockerCell     `json:"cells"`
}

// DockerCell is one cell's pulls.
type DockerCell struct {
	Cell        string           `json:"cell"`
	BytesPulled map[string]int64 `json:"bytes_pulled"`
	Pulls       map[string]int64 `json:"pulls"`
	// Digests counts the cell's containers by image digest at recording time.
	Digests map[string]int64 `json:"digests,omitempty"`
	Error   string           `json:"error,omitempty"`
}

// recordDocker writes out/docker.json for a cluster with registries (nothing
// otherwise).
func recordDocker(ctx context.Context, dir, out string, cl *api.Client) error {
	st, err := ReadState(dir)
	if err != nil || st.Registries == nil {
		return nil
	}
	reg, addrs, err := RegistryClient(dir)
	if err != nil {
		return err
	}
	rec := DockerRecord{BytesPulled: map[string]int64{"public": 0, "private": 0, "cell_cache": 0, "other": 0},
		Pulls: map[string]int64{"ok": 0, "failed": 0}, PullsFrom: map[string]int64{"public": 0, "private": 0, "other": 0}}
	if err := reg.Do(ctx, http.MethodGet, "/stats", nil, &rec.Registries); err != nil {
		return fmt.Errorf("registry stats: %w", err)
	}
	kind := func(source string) string {
		switch source {
		case addrs.Upstream:
			return "public"
		case addrs.Cache:
			return "private"
		}
		return "other"
	}
	var cells []api.CellInfo
	if err := cl.Do(ctx, http.MethodGet, "/v1/cells", nil, &cells); err != nil {
		return err
	}
	repTok, err := readToken(filepath.Join(dir, "rep.token"))
	if err != nil {
		return err
	}
	sort.Slice(cells, func(i, j int) bool { return cells[i].CellID < cells[j].CellID })
	for _, c := range cells {
		dc := DockerCell{Cell: c.CellID, BytesPulled: map[string]int64{}, Pulls: map[string]int64{}, Digests: map[string]int64{}}
		fams, err := scrape(ctx, c.RepURL, repTok)
		if err != nil {
			dc.Error = err.Error()
			rec.Cells = append(rec.Cells, dc)
			continue
		}
		for _, m := range family(fams, "diegolab_rep_image_pulled_bytes_total") {
			k := kind(label(m, "source"))
			dc.BytesPulled[k] += int64(m.GetCounter().GetValue())
		}
		for _, m := range family(fams, "diegolab_rep_image_cell_cache_bytes_total") {
			dc.BytesPulled["cell_cache"] += int64(m.GetCounter().GetValue())
		}
		for _, m := range family(fams, "diegolab_rep_image_pulls_total") {
			n := int64(m.GetCounter().GetValue())
			dc.Pulls[label(m, "result")] += n
			if label(m, "result") == "ok" {
				rec.PullsFrom[kind(label(m, "source"))] += n
			}
		}
		for _, m := range family(fams, "diegolab_rep_image_containers") {
			dc.Digests[label(m, "digest")] += int64(m.GetGauge().GetValue())
		}
		for k, v := range dc.BytesPulled {
			rec.BytesPulled[k] += v
		}
		for k, v := range dc.Pulls {
			rec.Pulls[k] += v
		}
		rec.Cells = append(rec.Cells, dc)
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	return writeFileAtomicLive(filepath.Join(out, DockerRecordFile), b)
}

func scrape(ctx context.Context, url, tok string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func family(fams map[string]*dto.MetricFamily, name string) []*dto.Metric {
	if f, ok := fams[name]; ok {
		return f.Metric
	}
	return nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
