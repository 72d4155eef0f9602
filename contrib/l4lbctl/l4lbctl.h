/* SPDX-License-Identifier: Apache-2.0 */
/*
 * l4lbctl: inspects the daemons through the public protobuf schema over
 * their IPC sockets. One file per subcommand. Exit codes: 0 success,
 * 1 a daemon is down or reports a problem, 2 usage error.
 */
#ifndef L4LBCTL_H
#define L4LBCTL_H

#include <stdio.h>

#include "common/envelope.h"

struct ctl {
	const char *run_dir;
	int timeout_ms;
	int json;
	const char *config; /* cleanup: passed on to ipvsd */
	const char *ipvsd;  /* cleanup: the ipvsd program (NULL: next to l4lbctl) */
	const char *output; /* diag: the archive ("-" = stdout) */
};

enum { CTL_OK = 0, CTL_DOWN = 1, CTL_USAGE = 2 };

/* Sends a request of `type` to <run-dir>/<daemon>.rep. Returns the reply,
 * or NULL after writing a helpful reason into why ("ipvsd is not running:
 * no socket at …"). */
Envelope *ctl_call(const struct ctl *c, const char *daemon, int type, char *why, size_t whylen);

/* JSON output helpers: a string with escapes, an address from raw bytes. */
void json_string(FILE *f, const char *s);
/* Formats 4 or 16 raw bytes as text; "?" for other lengths. */
const char *addr_str(const uint8_t *data, size_t len, char *buf, size_t size);

int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_vips(struct ctl *c, int argc, char **argv);
int cmd_ipvs(struct ctl *c, int argc, char **argv);
/* What a service's definition has that ipvsd's own has not (" persistent
 * 300 s netmask /64"), "" when nothing: buf. */
const char *ipvs_definition(const L4lb__V1__IpvsService *s, char *buf, size_t len);
int cmd_cleanup(struct ctl *c, int argc, char **argv);
int cmd_diag(struct ctl *c, int argc, char **argv);

/* A program installed with l4lbctl: <dir of l4lbctl>/../sbin/NAME, or
 * <dir>/NAME (a build directory), else NAME for a $PATH search. */
const char *ctl_sibling(const char *name, char *buf, size_t size);

#endif
