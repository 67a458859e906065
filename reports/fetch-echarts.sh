#!/bin/sh
# fetch-echarts.sh fetches the ECharts build that go-echarts v2.6.7 targets (5.4.3) from
# the npm registry and leaves dist/echarts.min.js at reports/assets/echarts.min.js (git
# ignored: third-party code is never committed). The reports package embeds that file
# when it is present at build time, so run this before `go build` (make does).
#
# Idempotent: it does nothing when the file is already there with the right version.
# Usage: reports/fetch-echarts.sh [DEST]   (DEST defaults to reports/assets/echarts.min.js
# next to this script). ECHARTS_VERSION overrides the version.
set -eu

version="${ECHARTS_VERSION:-5.4.3}"
here=$(cd "$(dirname "$0")" && pwd)
dest="${1:-$here/assets/echarts.min.js}"

# ECharts writes its version into the bundle as version="X.Y.Z".
if [ -f "$dest" ] && grep -q "version=\"$version\"" "$dest"; then
	echo "echarts $version already at $dest"
	exit 0
fi

command -v npm >/dev/null 2>&1 || {
	echo "fetch-echarts: npm is required (apt-get install npm), or set DIEGOLAB_ECHARTS to an echarts.min.js $version" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
(cd "$tmp" && npm pack --silent "echarts@$version" >/dev/null)
tar -xzf "$tmp/echarts-$version.tgz" -C "$tmp" package/dist/echarts.min.js
if ! grep -q "version=\"$version\"" "$tmp/package/dist/echarts.min.js"; then
	echo "fetch-echarts: the npm package echarts@$version does not carry version=\"$version\"" >&2
	exit 1
fi
mkdir -p "$(dirname "$dest")"
cp "$tmp/package/dist/echarts.min.js" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "echarts $version -> $dest ($(wc -c <"$dest") bytes)"
