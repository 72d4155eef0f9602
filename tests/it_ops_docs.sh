#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Operator documentation: the man pages render without warnings and cover
# the common options; the example configuration documents every option the
# daemons accept today (so it cannot silently fall behind); the HAProxy
# example is valid when haproxy is installed.
. tests/lib.sh

scratch_dir

if command -v man >/dev/null 2>&1; then
	ok=1
	for p in contrib/man/vipd.8 contrib/man/overlayd.8 contrib/man/ipvsd.8 \
		contrib/man/l4lbctl.8 contrib/man/l4lb.conf.5; do
		if [ ! -f "$p" ]; then
			ok=0
			echo "missing $p"
			continue
		fi
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >"$T/out" 2>"$T/err"
		if [ -s "$T/err" ] || [ ! -s "$T/out" ]; then
			ok=0
			echo "$p: $(head -n 2 "$T/err")"
		fi
	done
	if [ $ok = 1 ]; then pass docs_man_pages_render; else fail docs_man_pages_render \
		"warnings or missing pages"; fi
else
	echo "SKIP: docs_man_pages_render (no man)"
fi

# Every daemon page documents the options common to all daemons.
ok=1
for d in vipd overlayd ipvsd; do
	for o in help version config check-config run-dir log-level; do
		sed 's/\\-/-/g' "contrib/man/$d.8" | grep -q -- "--$o\\b" ||
			{ ok=0; echo "$d.8 lacks --$o"; }
	done
done
if [ $ok = 1 ]; then pass docs_man_common_options; else fail docs_man_common_options \
	"an option is undocumented"; fi

# Options each daemon accepts (from --help) must appear in the example
# configuration, as "#key = " (documented) -- except one-shot actions that
# make no sense in a file.
ok=1
for d in vipd overlayd ipvsd; do
	"$B/$d" --help 2>&1 | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}--\([a-z][a-z-]*\).*/\2/p' |
		grep -vxE 'help|version|config|check-config|print|show|from-file|cleanup' >"$T/opts"
	while read -r o; do
		grep -qE "^#$o = " contrib/l4lb.conf || { ok=0; echo "$d: --$o not in l4lb.conf"; }
	done <"$T/opts"
done
if [ $ok = 1 ]; then pass docs_example_config_complete; else fail docs_example_config_complete \
	"options missing from contrib/l4lb.conf"; fi

# Every l4lbctl command in its --help has a section in l4lbctl.8.
ok=1
"$B/l4lbctl" --help 2>&1 | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' >"$T/cmds"
[ -s "$T/cmds" ] || ok=0
while read -r c; do
	grep -qx ".B $c" contrib/man/l4lbctl.8 || { ok=0; echo "l4lbctl.8 lacks $c"; }
done <"$T/cmds"
if [ $ok = 1 ]; then pass "docs_l4lbctl_commands ($(tr '\n' ' ' <"$T/cmds"))"; else
	fail docs_l4lbctl_commands "a command is undocumented"; fi

if command -v haproxy >/dev/null 2>&1; then
	# the example binds :80; check the syntax only
	if haproxy -c -f contrib/haproxy/haproxy.cfg >"$T/hap" 2>&1; then
		pass docs_haproxy_example_valid
	else
		fail docs_haproxy_example_valid "$(head -n 3 "$T/hap" | tr '\n' ' ')"
	fi
else
	echo "SKIP: docs_haproxy_example_valid (haproxy not installed)"
fi
finish
