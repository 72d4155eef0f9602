// SPDX-License-Identifier: Apache-2.0
/* l4lbctl status: which daemons are up, their versions and uptime. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "contrib/l4lbctl/l4lbctl.h"

static const char *const daemons[] = { "vipd", "overlayd", "ipvsd" };
#define NDAEMONS (sizeof(daemons) / sizeof(daemons[0]))

static const char *fmt_uptime(unsigned long long s, char *buf, size_t size)
{
	if (s >= 86400)
		snprintf(buf, size, "%llud%02lluh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, size, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, size, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, size, "%llus", s);
	return buf;
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	Envelope *reply[NDAEMONS];
	char why[NDAEMONS][512];
	int down = 0;

	if (argc > 1) {
		fprintf(stderr, "l4lbctl status: unexpected argument '%s'\n", argv[1]);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < NDAEMONS; i++) {
		reply[i] = ctl_call(c, daemons[i], L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST, why[i],
				    sizeof(why[i]));
		if (reply[i] && reply[i]->type != L4LB__V1__ENVELOPE__TYPE__STATUS_REPLY) {
			snprintf(why[i], sizeof(why[i]), "%s answered with %s", daemons[i],
				 envelope_type_name(reply[i]->type));
			envelope_free(reply[i]);
			reply[i] = NULL;
		}
		down += !reply[i];
	}
	if (c->json) {
		printf("{\"daemons\":[");
		for (size_t i = 0; i < NDAEMONS; i++) {
			printf("%s{\"name\":\"%s\",\"up\":%s", i ? "," : "", daemons[i],
			       reply[i] ? "true" : "false");
			if (reply[i]) {
				L4lb__V1__StatusReply *st = reply[i]->status_reply;

				printf(",\"version\":");
				json_string(stdout, st->version);
				printf(",\"uptime_seconds\":%llu", (unsigned long long)st->uptime_seconds);
			}
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("%-9s %-5s %-8s %-8s %-8s %s\n", "DAEMON", "STATE", "VERSION", "UPTIME", "PID",
		       "LAST ERROR");
		for (size_t i = 0; i < NDAEMONS; i++) {
			L4lb__V1__StatusReply *st = reply[i] ? reply[i]->status_reply : NULL;
			char up[32];

			if (!st) {
				printf("%-9s %-5s %-8s %-8s %-8s %s\n", daemons[i], "down", "-", "-", "-",
				       why[i]);
				continue;
			}
			printf("%-9s %-5s %-8s %-8s %-8u %s\n", daemons[i], "up",
			       st->version ? st->version : "?",
			       fmt_uptime(st->uptime_seconds, up, sizeof(up)), st->pid,
			       st->last_error ? st->last_error : "");
		}
	}
	for (size_t i = 0; i < NDAEMONS; i++)
		envelope_free(reply[i]);
	return down ? CTL_DOWN : CTL_OK;
}
