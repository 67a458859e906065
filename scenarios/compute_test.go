package scenarios

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diegolab/diegolab/model"
)

func TestParseCompute(t *testing.T) {
	src := base + `cpu_milli = 2000
num_gpu = 1
gpu_milli = 250
gpu_models = ["T4", "V100M16"]

[[tasks]]
name = "train"
count = 2
memory_mb = 256
disk_mb = 256
duration = "1m"
num_gpu = 2

[[events]]
at = "1m"
action = "add-cells"
name = "gpu"
memory_mb = 8192
disk_mb = 8192
cpu_milli = 32000
gpus = 4
gpu_model = "T4"
`
	src = strings.Replace(src, "disk_mb = 16384\n", "disk_mb = 16384\ncpu_milli = 16000\ngpus = 2\ngpu_model = \"T4\"\n", 1)
	sc, err := Parse("c.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !sc.DeclaresCompute() {
		t.Error("DeclaresCompute = false")
	}
	cells := sc.InitialCells()
	if diff := cmp.Diff(model.NewCellCompute(16000, 2, "T4"), cells[0].Compute); diff != "" {
		t.Errorf("cell compute (-want +got):\n%s", diff)
	}
	want := &model.Compute{MilliCPU: 2000, GPUs: 1, GPUMilli: 250, GPUModels: []string{"T4", "V100M16"}}
	if diff := cmp.Diff(want, sc.Apps[0].DesiredLRP(0).Compute); diff != "" {
		t.Errorf("app compute (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&model.Compute{GPUs: 2}, sc.Tasks[0].Task(1).Compute); diff != "" {
		t.Errorf("task compute (-want +got):\n%s", diff)
	}
	if g := sc.Events[0].Cells; g == nil || g.GPUs != 4 || g.MilliCPU != 32000 || g.GPUModel != "T4" {
		t.Errorf("add-cells group %+v", g)
	}
	// Nothing declared: nil, as Diego's work.
	plain, err := Parse("p.toml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if plain.DeclaresCompute() || plain.Apps[0].Compute != nil || plain.InitialCells()[0].Compute != nil {
		t.Error("a scenario without CPU or GPUs has compute")
	}
}

func TestParseComputeErrors(t *testing.T) {
	for _, tc := range []struct {
		add, want string
	}{
		{"num_gpu = 65\n", "bad.toml:17: apps[0].num_gpu: must be an integer in [0, 64] (GPU devices), got 65"},
		{"gpu_milli = 1200\nnum_gpu = 1\n", "bad.toml:17: apps[0].gpu_milli: must be an integer in [0, 1000]"},
		{"gpu_milli = 500\n", "apps[0].num_gpu: missing with gpu_milli = 500"},
		{"gpu_milli = 500\nnum_gpu = 2\n", "apps[0].gpu_milli: a share of a device (500 < 1000) needs num_gpu = 1, got num_gpu = 2"},
		{"gpu_models = [\"T4\"]\n", "apps[0].gpu_models: set without num_gpu"},
		{"cpu_milli = -1\n", "apps[0].cpu_milli: must be an integer in [0, 1073741824] (millicores), got -1"},
		{"cpu_milli = \"lots\"\n", "apps[0].cpu_milli: must be an integer in [0, 1073741824] (millicores), got string \"lots\""},
	} {
		_, err := Parse("bad.toml", []byte(base+tc.add))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v\nwant %q", tc.add, err, tc.want)
		}
	}
	src := strings.Replace(base, "disk_mb = 16384\n", "disk_mb = 16384\ngpu_model = \"T4\"\n", 1)
	if _, err := Parse("bad.toml", []byte(src)); err == nil || !strings.Contains(err.Error(), "bad.toml:9: cells[0].gpu_model: set without gpus") {
		t.Errorf("gpu_model without gpus: %v", err)
	}
}

func TestComputeWarnings(t *testing.T) {
	sc, err := Parse("w.toml", []byte(base+"num_gpu = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Warnings) != 1 || !strings.Contains(sc.Warnings[0], "apps[0]: an instance asks for cpu_milli 0 and num_gpu 1 x 1000 milli-GPU") {
		t.Errorf("warnings %q, want one about apps[0]'s GPU", sc.Warnings)
	}
}
