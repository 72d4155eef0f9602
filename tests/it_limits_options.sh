#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# The bounds on repeated options (docs/limits.md): one past the limit is
# refused at start with exit status 2 and a message naming the option;
# exactly the limit is accepted (--check-config).
. tests/lib.sh
scratch_dir

run() { "$@" --run-dir "$T/run" --check-config >"$T/out" 2>&1; }

masters() { i=0; while [ $i -lt "$1" ]; do printf -- '--master http://10.0.0.%d:5050 ' $((i + 1)); i=$((i + 1)); done; }
# shellcheck disable=SC2046
run "$B/vipd" $(masters 8)
check "vipd accepts 8 masters" test $? = 0
# shellcheck disable=SC2046
run "$B/vipd" $(masters 9)
rc=$?
check "vipd refuses a 9th master (exit 2, named)" sh -c "[ $rc = 2 ] && grep -q 'master' '$T/out' && grep -q 'too many masters' '$T/out'"

seeds() { i=0; s=""; while [ $i -lt "$1" ]; do s="$s${s:+,}10.1.$((i / 250)).$((i % 250 + 1))"; i=$((i + 1)); done; echo "$s"; }
run "$B/overlayd" --seeds "$(seeds 64)" --state-dir "$T/st"
check "overlayd accepts 64 seeds" test $? = 0
run "$B/overlayd" --seeds "$(seeds 65)" --state-dir "$T/st"
rc=$?
check "overlayd refuses a 65th seed (exit 2, named)" sh -c "[ $rc = 2 ] && grep -q 'too many seeds' '$T/out'"

ranges() { i=0; while [ $i -lt "$1" ]; do printf -- '--vip-range 12.%d.0.0/16 ' "$i"; i=$((i + 1)); done; }
# shellcheck disable=SC2046
run "$B/ipvsd" $(ranges 64)
check "ipvsd accepts 64 VIP ranges" test $? = 0
# shellcheck disable=SC2046
run "$B/ipvsd" $(ranges 65)
rc=$?
check "ipvsd refuses a 65th VIP range (exit 2, named)" sh -c "[ $rc = 2 ] && grep -q 'too many ranges' '$T/out'"
finish
