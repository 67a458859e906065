package sweep_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/diegolab/diegolab/bench"
)

// decodeStrict decodes one YAML document into a Kubernetes API type, refusing fields the
// type does not have (a misspelt key is an error, as kubectl's server-side validation
// would make it).
func decodeStrict(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
		t.Fatalf("%v in:\n%s", err, doc)
	}
}

func docsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]string{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil || head.Kind == "" {
			t.Fatalf("%s: a document without kind (%v):\n%s", path, err, doc)
		}
		if _, dup := byKind[head.Kind]; dup {
			t.Fatalf("%s: two %s documents", path, head.Kind)
		}
		byKind[head.Kind] = doc
	}
	return byKind
}

var shardArg = regexp.MustCompile(`--shard "\$JOB_COMPLETION_INDEX/(\d+)" --out "/out/shard-\$JOB_COMPLETION_INDEX"`)

// TestIndexedJobManifest decodes docs/distributed/indexed-job.yaml and merge-job.yaml
// with the Kubernetes API types and checks what makes the sweep correct: an Indexed
// Job whose completions equal the N of --shard, each pod writing its own directory on
// the shared volume the merge reads, and a spec in the ConfigMap that loads.
func TestIndexedJobManifest(t *testing.T) {
	docs := docsOf(t, "../../docs/distributed/indexed-job.yaml")
	var cm corev1.ConfigMap
	decodeStrict(t, docs["ConfigMap"], &cm)
	var pvc corev1.PersistentVolumeClaim
	decodeStrict(t, docs["PersistentVolumeClaim"], &pvc)
	var job batchv1.Job
	decodeStrict(t, docs["Job"], &job)
	if len(docs) != 3 {
		t.Errorf("indexed-job.yaml has %d documents, want ConfigMap, PersistentVolumeClaim, Job", len(docs))
	}

	if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("Job completionMode %v, want Indexed", job.Spec.CompletionMode)
	}
	if job.Spec.Completions == nil || job.Spec.Parallelism == nil || *job.Spec.Parallelism > *job.Spec.Completions {
		t.Fatalf("Job completions %v, parallelism %v: both set, parallelism <= completions", job.Spec.Completions, job.Spec.Parallelism)
	}
	pod := job.Spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("pod: restartPolicy %q, %d containers; want Never and one", pod.RestartPolicy, len(pod.Containers))
	}
	c := pod.Containers[0]
	script := strings.Join(c.Args, " ")
	m := shardArg.FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("container args %q: no --shard $JOB_COMPLETION_INDEX/N --out /out/shard-$JOB_COMPLETION_INDEX", script)
	}
	if n, _ := strconv.Atoi(m[1]); int32(n) != *job.Spec.Completions {
		t.Errorf("--shard .../%s but completions %d: every shard must have a pod", m[1], *job.Spec.Completions)
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if mounts["spec"] != "/spec" || vols["spec"].ConfigMap == nil || vols["spec"].ConfigMap.Name != cm.Name {
		t.Errorf("the spec volume does not mount ConfigMap %s at /spec", cm.Name)
	}
	if mounts["out"] != "/out" || vols["out"].PersistentVolumeClaim == nil || vols["out"].PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("the out volume does not mount claim %s at /out", pvc.Name)
	}
	if !strings.Contains(script, "/spec/spec.toml") {
		t.Errorf("container args %q do not run /spec/spec.toml", script)
	}
	spec, err := bench.ParseSpec("spec.toml", []byte(cm.Data["spec.toml"]))
	if err != nil {
		t.Fatalf("the ConfigMap's spec.toml: %v", err)
	}
	runs, err := spec.Expand()
	if err != nil || len(runs) < int(*job.Spec.Completions) {
		t.Fatalf("the ConfigMap's spec: %d runs (%v), want at least one per shard", len(runs), err)
	}

	mdocs := docsOf(t, "../../docs/distributed/merge-job.yaml")
	var merge batchv1.Job
	decodeStrict(t, mdocs["Job"], &merge)
	mpod := merge.Spec.Template.Spec
	if len(mpod.Containers) != 1 || !strings.Contains(strings.Join(mpod.Containers[0].Args, " "), "bench merge /out/shard-* -o /out/merged") {
		t.Errorf("merge job does not run bench merge /out/shard-*: %+v", mpod.Containers)
	}
	if len(mpod.Volumes) != 1 || mpod.Volumes[0].PersistentVolumeClaim == nil || mpod.Volumes[0].PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("merge job does not mount claim %s", pvc.Name)
	}
}
