package buildpacks

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// run executes a buildpack script on the host with /home/vcap paths rewritten to a
// temporary tree (the container test of real/rep runs it for real).
func run(t *testing.T, name string, files map[string]string, env ...string) (string, string, error) {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	root := t.TempDir()
	app := filepath.Join(root, "app")
	os.MkdirAll(app, 0o755)
	for n, c := range files {
		os.WriteFile(filepath.Join(app, n), []byte(c), 0o644)
	}
	script, err := Script(name)
	if err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(script, "/home/vcap", root)
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = append(os.Environ(), env...)
	outb, err := cmd.CombinedOutput()
	start, _ := os.ReadFile(filepath.Join(root, "output", "start_command"))
	// Report paths as ROOT/... so expectations do not depend on the temporary dir.
	return strings.ReplaceAll(strings.TrimSpace(string(start)), root, "ROOT"), string(outb), err
}

func TestBuildpacks(t *testing.T) {
	tests := []struct {
		name, bp  string
		files     map[string]string
		env       []string
		wantStart string
		wantErr   string
	}{
		{"static detects", "static", map[string]string{"index.html": "hi"}, nil, "httpd -f -p $PORT -h ROOT/app", ""},
		{"static -c wins", "static", map[string]string{"index.html": "hi"}, []string{"DIEGOLAB_START_COMMAND=echo x"}, "echo x", ""},
		{"binary Procfile", "binary", map[string]string{"Procfile": "web: ./app --port $PORT\n", "app": "bin"}, nil, "./app --port $PORT", ""},
		{"binary -c", "binary", map[string]string{"app": "bin"}, []string{"DIEGOLAB_START_COMMAND=./app"}, "./app", ""},
		{"binary without command", "binary", map[string]string{"app": "bin"}, nil, "", "no start command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start, out, err := run(t, tc.bp, tc.files, tc.env...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(out, tc.wantErr) {
					t.Fatalf("err = %v, output %q; want failure with %q", err, out, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if start != tc.wantStart {
				t.Fatalf("start command = %q, want %q", start, tc.wantStart)
			}
		})
	}
	if _, err := Script("ruby"); err == nil {
		t.Fatal("unknown buildpack accepted")
	}
}
