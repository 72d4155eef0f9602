// SPDX-License-Identifier: Apache-2.0
#include "common/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_SIZE (1 << 20)
#define CONFIG_MAX_LINE 4096

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int parse_line(char *line, const char *section, int *in_section, config_kv_fn fn, void *arg,
		      const char **why)
{
	char *s = trim(line), *eq, *key, *value;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');

		if (!end || *trim(end + 1) != '\0') {
			*why = "malformed section header";
			return -1;
		}
		*end = '\0';
		s = trim(s + 1);
		*in_section = strcmp(s, "common") == 0 || strcmp(s, section) == 0;
		return 0;
	}
	eq = strchr(s, '=');
	if (!eq) {
		*why = "expected key = value";
		return -1;
	}
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (*key == '\0') {
		*why = "empty key";
		return -1;
	}
	if (!*in_section)
		return 0;
	*why = fn(key, value, arg);
	return *why ? -1 : 0;
}

int config_parse(const char *text, size_t len, const char *section, config_kv_fn fn, void *arg,
		 char *err, size_t errlen)
{
	char line[CONFIG_MAX_LINE];
	int in_section = 0;
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const char *why = NULL;

		lineno++;
		if (n >= sizeof(line)) {
			why = "line too long";
		} else if (memchr(text + pos, '\0', n)) {
			why = "NUL byte in line";
		} else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			parse_line(line, section, &in_section, fn, arg, &why);
		}
		if (why) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			return -1;
		}
		pos += n + 1;
	}
	return 0;
}

int config_load(const char *path, const char *section, config_kv_fn fn, void *arg, char *err,
		size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, inner[512];
	size_t len;
	int rc = -1;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	text = malloc(CONFIG_MAX_SIZE + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	len = fread(text, 1, CONFIG_MAX_SIZE + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
	} else if (len > CONFIG_MAX_SIZE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CONFIG_MAX_SIZE);
	} else if (config_parse(text, len, section, fn, arg, inner, sizeof(inner)) < 0) {
		snprintf(err, errlen, "%s:%s", path, inner + strlen("line "));
	} else {
		rc = 0;
	}
done:
	free(text);
	fclose(f);
	return rc;
}
