// SPDX-License-Identifier: Apache-2.0
/* The configuration file parser on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *accept_some(const char *key, const char *value, void *arg)
{
	size_t *n = arg;

	(*n)++;
	/* Reject a key so the error path runs too. */
	return strcmp(key, "bad") == 0 || strlen(value) > 200 ? "rejected" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	size_t n = 0;

	if (config_parse((const char *)data, size, "vipd", accept_some, &n, err, sizeof(err)) < 0 &&
	    !memchr(err, '\0', sizeof(err)))
		abort(); /* the error must be a terminated string */
	return 0;
}
