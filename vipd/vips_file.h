/* SPDX-License-Identifier: Apache-2.0 */
/* Static VIPs (--vips-file): the --print JSON shape, read into a table. */
#ifndef VIPD_VIPS_FILE_H
#define VIPD_VIPS_FILE_H

#include <stddef.h>

#include "vipd/vip_table.h"

/*
 * Parses `text` into a sorted table. On a bad entry returns NULL and writes
 * "<where>: <reason>" (e.g. "vips[2].backends[0].port: not in 1..65535").
 */
struct vip_table *vips_parse(const char *text, size_t len, char *err, size_t errlen);
/* The same for a file, errors prefixed with "path: ". */
struct vip_table *vips_load(const char *path, char *err, size_t errlen);

#endif
