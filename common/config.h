/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file shared by the three daemons (/etc/l4lb/l4lb.conf):
 *
 *   # comment
 *   [common]            options every daemon reads (run-dir, log-level)
 *   run-dir = /run/l4lb
 *   [vipd]              options of one daemon
 *   master = http://10.0.0.1:5050
 *   master = http://10.0.0.2:5050   (repeatable options repeat the key)
 *
 * Keys are the daemons' long option names, so every setting is also a
 * command-line flag; flags on the command line are applied after the file.
 */
#ifndef L4LB_CONFIG_H
#define L4LB_CONFIG_H

#include <stddef.h>

/* Called per key of the wanted sections; returns NULL or a reason. */
typedef const char *(*config_kv_fn)(const char *key, const char *value, void *arg);

/*
 * Parses `text` (len bytes), calling fn for keys of section "common" and of
 * `section`. On the first error returns -1 and writes "line N: reason"
 * into err; 0 on success. Keys of other sections are skipped unchecked.
 */
int config_parse(const char *text, size_t len, const char *section, config_kv_fn fn, void *arg,
		 char *err, size_t errlen);

/* The same for a file, with "path:line: reason" errors. */
int config_load(const char *path, const char *section, config_kv_fn fn, void *arg, char *err,
		size_t errlen);

#endif
