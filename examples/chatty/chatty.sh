#!/bin/sh
# chatty: prints $1 numbered lines (default 1000) as fast as the shell can, then
# idles. Push it with the process health check (it opens no port):
#   diegolab push chatty --path examples/chatty -b binary -u process -c 'sh ./chatty.sh 3000'
n=${1:-1000}
i=0
while [ "$i" -lt "$n" ]; do
	echo "chatty line $i"
	i=$((i + 1))
done
echo "chatty done: $n lines" >&2
exec sleep 1000000
