// SPDX-License-Identifier: Apache-2.0
/*
 * Prints one counter of a daemon's status reply, 0 when it was never
 * counted (for the hostile-input and limit tests), or else the status fact
 * (info) of that name:
 *   status_counter RUN_DIR DAEMON COUNTER
 * Exit status 1 when the daemon does not answer.
 */
#include <stdio.h>
#include <string.h>

#include "common/ipc.h"

int main(int argc, char **argv)
{
	Envelope req = L4LB__V1__ENVELOPE__INIT, *rep;
	L4lb__V1__StatusRequest body = L4LB__V1__STATUS_REQUEST__INIT;
	unsigned long long v = 0;
	const char *why = NULL;
	char url[300];

	if (argc != 4 || ipc_url(url, sizeof(url), argv[1], argv[2], "rep") < 0) {
		fprintf(stderr, "usage: status_counter RUN_DIR DAEMON COUNTER\n");
		return 2;
	}
	req.has_type = 1;
	req.type = L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST;
	req.status_request = &body;
	if (!(rep = ipc_call(url, &req, 2000, &why)) || !rep->status_reply) {
		fprintf(stderr, "%s: no status reply: %s\n", argv[2], why ? why : "wrong type");
		envelope_free(rep);
		return 1;
	}
	for (size_t i = 0; i < rep->status_reply->n_counters; i++) {
		const L4lb__V1__Counter *c = rep->status_reply->counters[i];

		if (c->name && strcmp(c->name, argv[3]) == 0)
			v = c->value;
	}
	for (size_t i = 0; i < rep->status_reply->n_info && !v; i++) {
		const L4lb__V1__KeyValue *kv = rep->status_reply->info[i];

		if (kv->key && kv->value && strcmp(kv->key, argv[3]) == 0) {
			printf("%s\n", kv->value);
			envelope_free(rep);
			return 0;
		}
	}
	printf("%llu\n", v);
	envelope_free(rep);
	return 0;
}
