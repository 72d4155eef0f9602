// SPDX-License-Identifier: Apache-2.0
/*
 * The --vips-file parser on arbitrary text: it accepts a table or refuses
 * with "<where>: <reason>", never both, never neither.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/vips_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct vip_table *t;

	err[0] = '\0';
	t = vips_parse((const char *)data, size, err, sizeof(err));
	if (!t && (!err[0] || !memchr(err, '\0', sizeof(err))))
		abort(); /* refused without a reason */
	vip_table_free(t);
	return 0;
}
