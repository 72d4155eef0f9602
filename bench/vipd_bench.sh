#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# vipd's benchmark (`make bench`): a generated GET_STATE of 10,000 agents,
# 100,000 tasks and 10,000 VIPs; full parse to table against yajl's own
# json_verify on the same file in the same run; peak RSS at a quarter, half
# and full input size (flat or not); one TASK_UPDATED and one new VIP
# applied, patched, packed and published at that scale; the --print output
# checked against the recorded table (speed-ups must not change it).
set -eu
B=${1:-build}
cd "$(dirname "$0")/.."
D=$B/bench
mkdir -p "$D"
AGENTS=${AGENTS:-10000} TASKS=${TASKS:-100000} VIPS=${VIPS:-10000}
[ -s "$D/state.json" ] || python3 bench/vipd_gen.py "$AGENTS" "$TASKS" "$VIPS" >"$D/state.json"
[ -s "$D/state-half.json" ] ||
	python3 bench/vipd_gen.py $((AGENTS / 2)) $((TASKS / 2)) $((VIPS / 2)) >"$D/state-half.json"
[ -s "$D/state-quarter.json" ] ||
	python3 bench/vipd_gen.py $((AGENTS / 4)) $((TASKS / 4)) $((VIPS / 4)) >"$D/state-quarter.json"
command -v json_verify >/dev/null || { echo "bench: json_verify (yajl-tools) missing"; exit 1; }

# Best of 3 of each, interleaved, so that both see the same machine load;
# wall time and CPU time (user + system: on a loaded machine the wall time
# also counts waiting for a core).
best() { sort -n | head -1; }
tv="" tp="" cv="" cpv="" rss=0
for i in 1 2 3; do
	r=$( { /usr/bin/time -f '%e %U %S' json_verify -q <"$D/state.json" >/dev/null; } 2>&1 |
		tail -1)
	tv="$tv ${r%% *}"
	cv="$cv $(echo "$r" | awk '{print $2 + $3}')"
	r=$( { /usr/bin/time -f '%e %U %S %M' "$B/vipd" --from-file "$D/state.json" --print \
		>/dev/null; } 2>&1 | tail -1)
	tp="$tp ${r%% *}"
	cpv="$cpv $(echo "$r" | awk '{print $2 + $3}')"
	rss=${r##* }
done
v=$(echo "$tv" | tr ' ' '\n' | grep . | best)
ps=$(echo "$tp" | tr ' ' '\n' | grep . | best)
vc=$(echo "$cv" | tr ' ' '\n' | grep . | best)
pc=$(echo "$cpv" | tr ' ' '\n' | grep . | best)
rss_of() {
	{ /usr/bin/time -f '%M' "$B/vipd" --from-file "$1" --print >/dev/null; } 2>&1 | tail -1
}
half=$(rss_of "$D/state-half.json")
quarter=$(rss_of "$D/state-quarter.json")
size=$(wc -c <"$D/state.json")
ratio=$(echo "$ps $v" | awk '{printf "%.2f", $1/$2}')
cratio=$(echo "$pc $vc" | awk '{printf "%.2f", $1/$2}')
echo "vipd bench: $D/state.json $((size / 1048576)) MiB" \
	"($AGENTS agents, $TASKS tasks, $VIPS VIPs)"
echo "  json_verify: $v s; vipd --from-file --print: $ps s; ratio ${ratio}x (target <= 2)"
echo "  CPU time: json_verify $vc s; vipd $pc s; ratio ${cratio}x"
echo "  peak RSS: $((rss / 1024)) MiB; half-size input $((half / 1024)) MiB," \
	"quarter-size $((quarter / 1024)) MiB (target < 64, flat)"

# Speed-ups must not change the table: the default-size state's --print
# output as vipd printed it before them (update it only with a deliberate
# change of the rules or of the output).
want=ca989b560c04d50443ef9b8683afde909373a250998059f495dc91d2e420fb28
if [ "$AGENTS $TASKS $VIPS" = "10000 100000 10000" ]; then
	got=$("$B/vipd" --from-file "$D/state.json" --print | sha256sum | cut -d' ' -f1)
	if [ "$got" != "$want" ]; then
		echo "  --print output DIFFERS from the recorded table (sha256 $got)"
		exit 1
	fi
	echo "  --print output: identical to the recorded table (sha256)"
fi

# TASK_UPDATED at scale, with vipd's own objects.
objs=$(ls "$B"/obj/vipd/*.o | grep -v "/main.o$")
gcc -std=gnu11 -O2 -I. -I"$B/gen" -D_GNU_SOURCE $(pkg-config --cflags yajl) -o "$D/vipd_update" \
	bench/vipd_update.c $objs "$B"/obj/common/*.o "$B"/obj/proto/*.o \
	$(pkg-config --libs nanomsg libprotobuf-c libevent libcurl yajl) -lm
"$D/vipd_update" "$D/state.json" 200 | sed 's/^/  /'
