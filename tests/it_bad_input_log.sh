#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Bad input is logged once per distinct problem, a few lines per kind: two
# different bad VIP labels both get their line (one per kind would hide the
# second), the same bad label on a task's two ports gets one, and hundreds of
# distinct bad labels give a bounded number of lines while the good VIPs
# still apply.
. tests/lib.sh
scratch_dir

# A GET_STATE from the tcp-and-udp fixture with N copies of its task, each
# with its own id; copy i gets the VIP label value LABEL(i).
gen() { # OUT N LABEL_EXPR(python, in i)
	python3 - "$1" "$2" "$3" <<'PY'
import copy, json, sys
out, n, expr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
d = json.load(open("tests/fixtures/mesos/tcp-and-udp.json"))
tasks = d["get_state"]["get_tasks"]["tasks"]
base = tasks[0]
for i in range(n):
    t = copy.deepcopy(base)
    t["task_id"]["value"] = "bad.%d" % i
    for st in t.get("statuses", []):
        st["task_id"]["value"] = "bad.%d" % i
    for p in t["discovery"]["ports"]["ports"]:
        for l in p.get("labels", {}).get("labels", []):
            l["value"] = eval(expr, {"i": i})
    tasks.append(t)
json.dump(d, open(out, "w"))
PY
}
lines() { grep -c "vip_label: task bad\." "$1"; }

gen "$T/two.json" 2 '"/two%d:notaport" % i'
out=$("$B/vipd" --from-file "$T/two.json" --print 2>"$T/two.err")
n=$(lines "$T/two.err")
if [ "$n" = 2 ] && grep -q "task bad\.0" "$T/two.err" && grep -q "task bad\.1" "$T/two.err"
then pass bad_input_each_distinct_problem_logged
else fail bad_input_each_distinct_problem_logged "$n lines: $(cat "$T/two.err")"; fi

# The good VIP of the fixture is still in the table.
if echo "$out" | grep -q '"ip":"11.171.172.93","port":80'; then pass bad_input_rest_applies
else fail bad_input_rest_applies "$out"; fi

gen "$T/flood.json" 300 '"/flood%d:notaport" % i'
"$B/vipd" --from-file "$T/flood.json" --print >/dev/null 2>"$T/flood.err"
n=$(lines "$T/flood.err")
if [ "$n" -ge 2 ] && [ "$n" -le 10 ]; then pass bad_input_flood_bounded
else fail bad_input_flood_bounded "$n vip_label lines for 300 distinct bad labels"; fi

finish
