// SPDX-License-Identifier: Apache-2.0
#include "contrib/l4lbctl/cleanup_report.h"

#include <stdlib.h>
#include <string.h>

#include "contrib/l4lbctl/l4lbctl.h"

static const char *const levels[] = { "error", "warn", "info", "debug" };

/* The message of a common/log.c line and its level: "<N>LEVEL: msg" under
 * systemd, "HH:MM:SS.mmm ident[pid] LEVEL: msg" elsewhere. NULL if the
 * line is neither (the earliest "LEVEL: " after '>' or ' ' is the prefix). */
static const char *log_message(const char *line, const char **level)
{
	const char *best = NULL;

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		size_t n = strlen(levels[i]);

		for (const char *p = strstr(line, levels[i]); p; p = strstr(p + 1, levels[i])) {
			if (p > line && (p[-1] == ' ' || p[-1] == '>') && p[n] == ':' &&
			    p[n + 1] == ' ') {
				if (!best || p < best) {
					best = p;
					*level = levels[i];
				}
				break;
			}
		}
	}
	return best ? best + strlen(*level) + 2 : NULL;
}

static void add_problem(struct cleanup_report *r, const char *level, const char *msg)
{
	size_t n = strcspn(msg, "\r\n");

	if (r->n_problems == CLEANUP_MAX_PROBLEMS) {
		r->problems_dropped++;
		return;
	}
	r->problems[r->n_problems].message = strndup(msg, n);
	if (!r->problems[r->n_problems].message) {
		r->problems_dropped++;
		return;
	}
	snprintf(r->problems[r->n_problems].level, sizeof(r->problems[0].level), "%s", level);
	r->n_problems++;
}

void cleanup_report_line(struct cleanup_report *r, const char *line)
{
	const char *level = NULL, *msg = log_message(line, &level);
	unsigned long s, a;
	char state[16];

	if (!msg)
		return;
	if (!strcmp(level, "error") || !strcmp(level, "warn"))
		add_problem(r, level, msg);
	if (strncmp(msg, "cleanup: ", 9))
		return;
	msg += 9;
	/* the lines of ipvsd/cleanup.c this depends on */
	if (sscanf(msg, "%15[a-z]: %lu services, %lu VIP addresses", state, &s, &a) == 3 &&
	    (!strcmp(state, "done") || !strcmp(state, "incomplete"))) {
		r->result = !strcmp(state, "done") ? CLEANUP_DONE : CLEANUP_INCOMPLETE;
		r->services = s;
		r->addresses = a;
	} else if (!strncmp(msg, "deleted interface ", 18)) {
		snprintf(r->interface, sizeof(r->interface), "%.*s", (int)strcspn(msg + 18, " \r\n"),
			 msg + 18);
	} else if (!strncmp(msg, "no IPVS in this kernel", 22)) {
		r->no_ipvs = 1;
	} else if (!strncmp(msg, "an ipvsd is running", 19)) {
		r->result = CLEANUP_REFUSED;
		snprintf(r->reason, sizeof(r->reason), "%.*s", (int)strcspn(msg, "\r\n"), msg);
	}
}

static const char *result_name(enum cleanup_result res)
{
	static const char *const names[] = { "failed", "done", "incomplete", "refused" };

	return names[res];
}

void cleanup_report_json(const struct cleanup_report *r, int exit_status, FILE *f)
{
	fprintf(f, "{\"result\":\"%s\",\"exit_status\":%d", result_name(r->result), exit_status);
	if (r->result == CLEANUP_DONE || r->result == CLEANUP_INCOMPLETE) {
		fprintf(f, ",\"removed\":{\"services\":%lu,\"vip_addresses\":%lu,\"interface\":",
			r->services, r->addresses);
		if (r->interface[0])
			json_string(f, r->interface);
		else
			fputs("null", f);
		fprintf(f, "},\"ipvs\":%s", r->no_ipvs ? "false" : "true");
	} else {
		fputs(",\"reason\":", f);
		json_string(f, r->reason[0] ? r->reason : "ipvsd --cleanup ended without a summary");
		if (r->pid)
			fprintf(f, ",\"pid\":%lu", r->pid);
	}
	fputs(",\"problems\":[", f);
	for (size_t i = 0; i < r->n_problems; i++) {
		fprintf(f, "%s{\"level\":\"%s\",\"message\":", i ? "," : "", r->problems[i].level);
		json_string(f, r->problems[i].message);
		fputc('}', f);
	}
	fprintf(f, "],\"problems_dropped\":%zu}\n", r->problems_dropped);
}

void cleanup_report_clear(struct cleanup_report *r)
{
	for (size_t i = 0; i < r->n_problems; i++)
		free(r->problems[i].message);
	memset(r, 0, sizeof(*r));
}
