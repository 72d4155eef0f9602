#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# vipd against an https fake master whose certificate a throwaway CA signed
# (made here with openssl, in a temporary directory): with --ca-file it
# syncs; without it, or with another CA, it fails with a clear error and
# publishes nothing; and when the master comes back with a certificate it
# cannot trust, the last table stays published.
. tests/lib.sh
scratch_dir

need_cmd openssl "vipd_https"

# ca NAME: a CA; cert NAME CA: a certificate for 127.0.0.1 signed by CA.
ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj "/CN=l4lb test $1" -keyout "$T/$1.key" -out "$T/$1.pem" 2>/dev/null
}
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=127.0.0.1" -keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$T/$1.ext" &&
		openssl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" \
			-CAcreateserial -days 1 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
if ! { ca ca1 && ca ca2 && cert good ca1 && cert other ca2; }; then
	fail https_certificates "openssl could not make the test CA and certificates"
	finish
fi

fm_start() { # cert [port]: an https fake master, sets PORT and FM_PID
	rm -f "$T/fm.port"
	FAKEMASTER_CERT="$T/$1.pem" FAKEMASTER_KEY="$T/$1.key" FAKEMASTER_PORT=${2:-0} \
		spawn python3 "$FM" "$T/fm.port"
	FM_PID=$LAST_PID
	wait_for 10 test -s "$T/fm.port" || { fail "fakemaster_https" "did not start"; finish; }
	PORT=$(cat "$T/fm.port")
}
vipd() { # name args...
	n=$1
	shift
	mkdir -p "$T/$n"
	spawn "$B/vipd" --run-dir "$T/$n" --backoff-min 200 --backoff-max 800 "$@" 2>"$T/$n.log"
}
show() { "$B/vipd" --run-dir "$T/$1" --show 2>/dev/null; }
has() { show "$1" | grep -q "$2"; }
logged() { grep -q "$2" "$T/$1.log"; }          # name pattern
logged_after() { tail -n +"$2" "$T/$1.log" | grep -q "$3"; } # name line pattern

fm_start good
FAKEMASTER_CA="$T/ca1.pem" python3 "$FM" ctl "$PORT" '{"op":"set","state":{"agents":[{"id":
	{"value":"a1"},"hostname":"10.0.0.1"}],"frameworks":[{"id":{"value":"f1"},"name":
	"marathon"}],"tasks":[{"task_id":{"value":"t1"},"framework_id":{"value":"f1"},
	"agent_id":{"value":"a1"},"state":"TASK_RUNNING","discovery":{"ports":{"ports":[
	{"number":31001,"protocol":"tcp","labels":{"labels":[{"key":"VIP_0","value":"/web:80"}]}}
	]}}}],"recovered":[]}}' >/dev/null
URL="https://127.0.0.1:$PORT"

vipd ok --master "$URL" --ca-file "$T/ca1.pem"
vipd noca --master "$URL"
vipd wrongca --master "$URL" --ca-file "$T/ca2.pem"

if wait_for 15 has ok '"name":"web.marathon"'; then pass https_with_ca_file_syncs
else fail https_with_ca_file_syncs "$(show ok; tail -3 "$T/ok.log")"; fi

# Without the CA: a certificate error that says what to do, nothing published.
if wait_for 15 logged noca "certificate.*needs --ca-file"; then
	echo "INFO: $(grep -m1 "certificate" "$T/noca.log")"
	if has noca web.marathon; then fail https_without_ca_file_fails "published a table"
	else pass https_without_ca_file_fails; fi
else fail https_without_ca_file_fails "no clear error: $(tail -3 "$T/noca.log")"; fi

if wait_for 15 logged wrongca "certificate"; then
	if has wrongca web.marathon; then fail https_wrong_ca_fails "published a table"
	else pass https_wrong_ca_fails; fi
else fail https_wrong_ca_fails "no certificate error: $(tail -3 "$T/wrongca.log")"; fi

# The master comes back on the same port with a certificate of another CA.
lines=$(($(wc -l <"$T/ok.log") + 1))
kill "$FM_PID"
wait "$FM_PID" 2>/dev/null
fm_start other "$PORT"
if wait_for 15 logged_after ok "$lines" "certificate"; then
	if has ok '"name":"web.marathon"'; then pass https_untrusted_master_keeps_last_table
	else fail https_untrusted_master_keeps_last_table "table lost: $(show ok)"; fi
else fail https_untrusted_master_keeps_last_table "no certificate error: $(tail -3 "$T/ok.log")"
fi
finish
