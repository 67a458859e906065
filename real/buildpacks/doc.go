// Package buildpacks holds real mode's buildpacks: busybox sh scripts that a staging
// task runs inside a container with the app's files at /home/vcap/app (read-only)
// and an empty /home/vcap/output. A buildpack copies what the app needs to
// /home/vcap/output/droplet and writes the start command to
// /home/vcap/output/start_command; the rep then tars the droplet, uploads it to the
// BBS blobstore and reports the result. $DIEGOLAB_START_COMMAND, when set (push -c),
// overrides the detected command.
//
//   - static: serves the directory with busybox httpd on $PORT;
//   - binary: runs an executable, from the Procfile's "web:" line or -c.
package buildpacks

import (
	"fmt"
	"slices"
)

// Names lists the buildpacks.
func Names() []string { return []string{"binary", "static"} }

const prologue = `set -e
out=/home/vcap/output
mkdir -p "$out/droplet"
cp -R /home/vcap/app/. "$out/droplet/"
`

var scripts = map[string]string{
	"static": prologue + `cmd="$DIEGOLAB_START_COMMAND"
if [ -z "$cmd" ]; then
	[ -f "$out/droplet/index.html" ] || echo "static buildpack: warning: no index.html" >&2
	cmd='httpd -f -p $PORT -h /home/vcap/app'
fi
printf '%s\n' "$cmd" > "$out/start_command"
echo "static buildpack: droplet ready, start command: $cmd"
`,
	"binary": prologue + `cmd="$DIEGOLAB_START_COMMAND"
if [ -z "$cmd" ] && [ -f "$out/droplet/Procfile" ]; then
	cmd=$(sed -n 's/^web:[[:space:]]*//p' "$out/droplet/Procfile" | head -n 1)
fi
if [ -z "$cmd" ]; then
	echo "binary buildpack: no start command: add a Procfile with a 'web:' line or push with -c" >&2
	exit 1
fi
printf '%s\n' "$cmd" > "$out/start_command"
echo "binary buildpack: droplet ready, start command: $cmd"
`,
}

// Script returns the staging script of a buildpack.
func Script(name string) (string, error) {
	s, ok := scripts[name]
	if !ok {
		return "", fmt.Errorf("unknown buildpack %q (want one of %v)", name, Names())
	}
	return s, nil
}

// Known reports whether name is a buildpack.
func Known(name string) bool { return slices.Contains(Names(), name) }
