// SPDX-License-Identifier: Apache-2.0
/* Every IPC message goes through envelope_unpack first: it must refuse
 * or accept any bytes without crashing, leaking or reading out of bounds,
 * and what it accepts must pack again. */
#include <stdint.h>
#include <stdlib.h>

#include "common/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	Envelope *env = envelope_unpack(data, size, &why);
	struct ipc_buf b;

	if (!env) {
		if (!why)
			abort(); /* a refusal always has a reason */
		return 0;
	}
	if (envelope_pack(env, &b) == 0)
		ipc_buf_free(&b);
	(void)envelope_type_name(env->type);
	envelope_free(env);
	return 0;
}
