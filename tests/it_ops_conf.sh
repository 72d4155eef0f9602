#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# contrib/l4lb.conf, the example configuration: every daemon accepts it as
# shipped, and with every "#key = value" line (an option that exists
# today) uncommented; a typo in it is caught with file:line.
. tests/lib.sh

scratch_dir
conf=contrib/l4lb.conf

# each_accepts NAME FILE: every daemon's --check-config accepts FILE
# (one check per daemon, NAME_<daemon>).
each_accepts() {
	for d in vipd overlayd ipvsd; do
		if "$B/$d" --check-config --config "$2" >"$T/out" 2>&1; then
			pass "$1_$d"
		else
			fail "$1_$d" "$(head -n 2 "$T/out" | tr '\n' ' ')"
		fi
	done
}
each_accepts conf_example_valid "$conf"

# Uncomment the options documented as existing: each daemon must accept
# its own section with every one of them set. Files named in the example
# are read by --check-config, so they point to scratch copies here.
echo '{"vips":[]}' >"$T/vips.json"
echo secret >"$T/master.token"
(umask 077 && echo "a shared secret of the test cluster" >"$T/cluster.key")
sed -e 's/^#\([a-z][a-z-]* = \)/\1/' -e "s|/etc/l4lb/|$T/|" "$conf" >"$T/all.conf"
n=$(grep -c '^[a-z][a-z-]* = ' "$T/all.conf")
each_accepts conf_example_options_exist "$T/all.conf"
[ "$n" -ge 10 ] && pass "conf_example_documents_options ($n options)" ||
	fail conf_example_documents_options "only $n options"

# A misspelt key in a daemon's section: exit 2 naming the file and line.
sed 's/^#mode = stream/mdoe = stream/' "$conf" >"$T/typo.conf"
line=$(grep -n '^mdoe' "$T/typo.conf" | cut -d: -f1)
"$B/vipd" --check-config --config "$T/typo.conf" >"$T/out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q "typo.conf:$line:" "$T/out"; then
	pass conf_typo_reported_with_line
else
	fail conf_typo_reported_with_line "rc $rc: $(head -n 2 "$T/out" | tr '\n' ' ')"
fi
finish
