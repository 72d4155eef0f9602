/* SPDX-License-Identifier: Apache-2.0 */
/* vipd's options (each is also a key of the [vipd] config section). */
#ifndef VIPD_OPTIONS_H
#define VIPD_OPTIONS_H

#include "common/opts.h"

#define VIPD_MAX_MASTERS 8

/* (options.c's word tables follow these orders) */
enum vipd_mode { MODE_STREAM = 0, MODE_POLL };
enum vipd_api { API_AUTO = 0, API_V1, API_LEGACY };

struct vipd_options {
	const char *masters[VIPD_MAX_MASTERS];
	int nmasters;
	const char *from_file;
	int print;
	int show;
	const char *vips_file;
	enum vipd_mode mode;
	enum vipd_api api;
	unsigned poll_interval_ms;
	const char *token_file;
	const char *ca_file;
	unsigned connect_timeout_s;
	unsigned request_timeout_s;
	unsigned recovered_grace_s;
	unsigned coalesce_ms;
	unsigned backoff_min_ms, backoff_max_ms;
	unsigned max_tasks; /* per master reply, a bound on memory */
};

extern const struct opt vipd_opts[];
void vipd_options_defaults(struct vipd_options *o);
const char *vipd_options_apply(int key, const char *value, void *ctx);
/* Frees the option strings (they live until exit otherwise). */
void vipd_options_free(struct vipd_options *o);

#endif
