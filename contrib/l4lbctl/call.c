// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/ipc.h"
#include "contrib/l4lbctl/l4lbctl.h"

Envelope *ctl_call(const struct ctl *c, const char *daemon, int type, char *why, size_t whylen)
{
	struct ipc_buf req = { 0 };
	Envelope *reply = NULL;
	char url[256];
	const char *err;
	struct stat st;

	if (ipc_url(url, sizeof(url), c->run_dir, daemon, "rep") < 0) {
		snprintf(why, whylen, "run directory path too long: %s", c->run_dir);
		return NULL;
	}
	if (stat(ipc_url_path(url), &st) < 0) {
		snprintf(why, whylen, "%s is not running: no socket at %s%s", daemon,
			 ipc_url_path(url), errno == EACCES ? " (permission denied)" : "");
		return NULL;
	}
	if (envelope_pack_request(type, &req) < 0) {
		snprintf(why, whylen, "cannot encode the request");
		return NULL;
	}
	reply = ipc_call_raw(url, req.data, req.len, c->timeout_ms, &err);
	ipc_buf_free(&req);
	if (!reply) {
		snprintf(why, whylen, "%s is not answering at %s: %s", daemon, ipc_url_path(url), err);
		return NULL;
	}
	if (reply->type == L4LB__V1__ENVELOPE__TYPE__ERROR) {
		snprintf(why, whylen, "%s: %s", daemon,
			 reply->error->message ? reply->error->message : "error");
		envelope_free(reply);
		return NULL;
	}
	return reply;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

const char *addr_str(const uint8_t *data, size_t len, char *buf, size_t size)
{
	if ((len != 4 && len != 16) || !inet_ntop(len == 4 ? AF_INET : AF_INET6, data, buf, size))
		snprintf(buf, size, "?");
	return buf;
}
