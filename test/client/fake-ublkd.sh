#!/bin/sh
# A fake ublkd for ublkctl's tests. socat runs it once per connection, with
# the connection on stdin and stdout. Every request line is appended to
# $FAKE_DIR/requests. The answer is chosen by the first file that exists of
# $FAKE_DIR/reply.METHOD.ID (ID: the request's params.id) and
# $FAKE_DIR/reply.METHOD; its first line is one of
#   result JSON   answer {"jsonrpc":"2.0","id":<the request's id>,"result":JSON}
#   error JSON    answer {"jsonrpc":"2.0","id":<the request's id>,"error":JSON}
#   raw TEXT      answer TEXT as it is
#   close         hang up without answering
#   partial       send half a response, then hang up
#   long          send a line longer than UBLKD_MAX_LINE, then hang up
#   sleep N       wait N seconds, then hang up
# A method with no file is answered with error -32601.
set -u
dir=${FAKE_DIR:?FAKE_DIR must name the fake daemon directory}

while IFS= read -r line; do
	printf '%s\n' "$line" >>"$dir/requests"
	method=$(printf '%s\n' "$line" | jq -r '.method // empty' 2>/dev/null) || method=
	id=$(printf '%s\n' "$line" | jq -c '.id' 2>/dev/null) || id=null
	devid=$(printf '%s\n' "$line" | jq -r '.params.id // empty' 2>/dev/null) || devid=
	file=
	for name in "reply.$method.$devid" "reply.$method"; do
		if [ -f "$dir/$name" ]; then
			file=$dir/$name
			break
		fi
	done
	if [ -z "$file" ]; then
		jq -cn --argjson id "$id" --arg m "$method" \
			'{jsonrpc: "2.0", id: $id, error: {code: -32601, message: ("no method " + $m)}}'
		continue
	fi
	read -r verb rest <"$file"
	case $verb in
	result)
		jq -cn --argjson id "$id" --argjson r "$rest" '{jsonrpc: "2.0", id: $id, result: $r}' ;;
	error)
		jq -cn --argjson id "$id" --argjson e "$rest" '{jsonrpc: "2.0", id: $id, error: $e}' ;;
	raw)
		printf '%s\n' "$rest" ;;
	close)
		exit 0 ;;
	partial)
		printf '{"jsonrpc":"2.0","id":%s,"res' "$id"
		exit 0 ;;
	long)
		head -c 1048577 /dev/zero | tr '\0' x
		printf '\n'
		exit 0 ;;
	sleep)
		sleep "$rest"
		exit 0 ;;
	*)
		echo "fake-ublkd: bad reply file $file" >&2
		exit 1 ;;
	esac
done
