#!/bin/sh
# build-stack.sh DIR [BUSYBOX]
#
# Builds the diegolab container root-filesystem "stack" in DIR from Debian's
# busybox-static binary (default /bin/busybox). Same layout and stamp as the Go
# function stack.Build (real/stack/stack.go): keep the two in step.
# Idempotent: a DIR whose stamp matches this busybox binary is left alone.
# Builds in a temporary sibling directory and renames it into place.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 DIR [BUSYBOX]" >&2
	exit 2
fi
dir=$1
busybox=${2:-/bin/busybox}
version=diegolab-stack-1
stampfile=.diegolab-stack

if [ ! -x "$busybox" ]; then
	echo "$0: $busybox not found: install Debian's busybox-static (apt-get install -y busybox-static)" >&2
	exit 1
fi
sum=$(sha256sum "$busybox" | cut -d' ' -f1)
want="$version busybox-sha256=$sum"
if [ -f "$dir/$stampfile" ] && [ "$(cat "$dir/$stampfile")" = "$want" ]; then
	echo "stack $dir is up to date"
	exit 0
fi

parent=$(dirname "$dir")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.$(basename "$dir").build-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for d in bin sbin usr/bin usr/sbin etc root proc sys dev var/tmp tmp home home/vcap home/vcap/app; do
	mkdir -p "$tmp/$d"
done
chmod 0755 "$tmp" "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/etc" "$tmp/dev" "$tmp/home"
chmod 0700 "$tmp/root"
chmod 0555 "$tmp/proc" "$tmp/sys"
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
chmod 0755 "$tmp/home/vcap" "$tmp/home/vcap/app"
chown 2000:2000 "$tmp/home/vcap" "$tmp/home/vcap/app"

cp "$busybox" "$tmp/bin/busybox"
chmod 0755 "$tmp/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	case $applet in
	"" | bin/busybox) continue ;;
	/* | ..*) echo "$0: applet path $applet escapes the stack" >&2; exit 1 ;;
	esac
	mkdir -p "$tmp/$(dirname "$applet")"
	ln -sf /bin/busybox "$tmp/$applet"
done

printf 'root:x:0:0:root:/root:/bin/sh\nvcap:x:2000:2000:vcap:/home/vcap:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$tmp/etc/passwd"
printf 'root:x:0:\nvcap:x:2000:\nnogroup:x:65534:\n' >"$tmp/etc/group"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$tmp/etc/hosts"
printf 'localhost\n' >"$tmp/etc/hostname"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$tmp/etc/nsswitch.conf"
: >"$tmp/etc/resolv.conf"
chmod 0644 "$tmp"/etc/*
printf '%s\n' "$want" >"$tmp/$stampfile"

if [ -e "$dir" ]; then
	old="$dir.old-$$"
	mv "$dir" "$old"
	mv "$tmp" "$dir"
	rm -rf "$old"
else
	mv "$tmp" "$dir"
fi
trap - EXIT
echo "stack built in $dir"
