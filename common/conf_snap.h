/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration file's keys as a daemon last read them, so that SIGHUP
 * can tell which settings changed: those that can change live are applied,
 * the others are named in the log as needing a restart (a running daemon
 * never half-applies a new configuration).
 */
#ifndef L4LB_CONF_SNAP_H
#define L4LB_CONF_SNAP_H

#include <stddef.h>

struct conf_kv {
	char *key, *value;
};

struct conf_snap {
	struct conf_kv *kv; /* in file order; a key may repeat (--master) */
	size_t n, cap;
};

/* Reads the keys of sections "common" and `section` from text / a file.
 * 0, or -1 with "[path:]line N: reason" in err (s then holds nothing). */
int conf_snap_parse(struct conf_snap *s, const char *text, size_t len, const char *section,
		    char *err, size_t errlen);
int conf_snap_load(struct conf_snap *s, const char *path, const char *section, char *err,
		   size_t errlen);
void conf_snap_free(struct conf_snap *s);

/* Called once per key whose values differ between two snapshots; value is
 * the key's last value in the new one, or NULL when it is gone. */
typedef void (*conf_change_fn)(const char *key, const char *value, void *arg);

/* Number of changed keys. */
size_t conf_snap_diff(const struct conf_snap *old, const struct conf_snap *cur, conf_change_fn fn,
		      void *arg);

#endif
