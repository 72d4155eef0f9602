/* SPDX-License-Identifier: Apache-2.0 */
/* `vipd --from-file FILE --print`: a saved master response → the table. */
#ifndef VIPD_FROM_FILE_H
#define VIPD_FROM_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "vipd/vip_table.h"

/*
 * Streams the file (GET_STATE reply, state.json or a recorded SUBSCRIBE
 * stream) through the parser and the rules. Returns the table (plus
 * `statics`, may be NULL) or NULL with the reason in err.
 */
struct vip_table *from_file_table(const char *path, const struct vip_table *statics, char *err,
				  size_t errlen);
/* The same table printed as JSON (vip_table_print_json) to out: 0, or
 * -errno with the reason in err. `exiting`: the process exits right after,
 * so the model and table are left to the kernel instead of freed. */
int from_file_print(const char *path, const struct vip_table *statics, FILE *out, int exiting,
		    char *err, size_t errlen);

#endif
