// SPDX-License-Identifier: Apache-2.0
#include "ipvsd/state_file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/daemon.h"
#include "common/log.h"

#define STATE_MAX_BYTES (16 << 20) /* far above any real file: a bound on hostile ones */

void ipvsd_state_clear(struct ipvsd_state *st)
{
	key_set_clear(&st->vips);
	st->made_if[0] = 0;
}

static int parse_vip(const char *proto, const char *ip, const char *port, struct svc_key *k)
{
	char *end;
	unsigned long p = strtoul(port, &end, 10);

	memset(k, 0, sizeof(*k));
	if (!strcmp(proto, "tcp"))
		k->proto = IPPROTO_TCP;
	else if (!strcmp(proto, "udp"))
		k->proto = IPPROTO_UDP;
	else
		return -EINVAL;
	if (*end || p == 0 || p > 65535)
		return -EINVAL;
	k->port = (uint16_t)p;
	if (inet_pton(AF_INET, ip, k->addr) == 1)
		k->af = AF_INET;
	else if (inet_pton(AF_INET6, ip, k->addr) == 1)
		k->af = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

int ipvsd_state_parse(const char *text, struct ipvsd_state *st)
{
	char *copy = strdup(text), *line, *save = NULL;
	int rc = 0, lineno = 0;

	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char w[4][64];
		int n = sscanf(line, "%63s %63s %63s %63s", w[0], w[1], w[2], w[3]);
		struct svc_key k;

		lineno++;
		if (n <= 0 || w[0][0] == '#')
			continue;
		if (n == 4 && !strcmp(w[0], "vip") && parse_vip(w[1], w[2], w[3], &k) == 0) {
			if ((rc = key_set_add(&st->vips, &k)) < 0)
				break;
		} else if (n == 3 && !strcmp(w[0], "interface") && !strcmp(w[2], "created") &&
			   strlen(w[1]) < sizeof(st->made_if)) {
			/* length checked above; snprintf here trips gcc -O1's
			 * -Wformat-truncation (the ASan build) */
			memcpy(st->made_if, w[1], strlen(w[1]) + 1);
		} else {
			report_bad_input("state_file", "state file line %d not understood: %.80s",
					 lineno, line);
		}
	}
	key_set_sort(&st->vips);
	free(copy);
	return rc;
}

int ipvsd_state_format(const struct ipvsd_state *st, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# ipvsd state: rewritten by ipvsd, see ipvsd(8)\n");
	if (st->made_if[0])
		fprintf(f, "interface %s created\n", st->made_if);
	for (size_t i = 0; i < st->vips.n; i++) {
		const struct svc_key *k = &st->vips.k[i];
		char ip[INET6_ADDRSTRLEN];

		inet_ntop(k->af, k->addr, ip, sizeof(ip));
		fprintf(f, "vip %s %s %u\n", k->proto == IPPROTO_UDP ? "udp" : "tcp", ip, k->port);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}

int ipvsd_state_load(const char *dir, struct ipvsd_state *st)
{
	char path[4096], *text = NULL;
	size_t cap = 0;
	struct stat sb;
	ssize_t n;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	/* never read more than a state file can be */
	if (fstat(fileno(f), &sb) == 0 && sb.st_size > STATE_MAX_BYTES) {
		fclose(f);
		report_bad_input("state_file", "%s: larger than %d bytes: ignored", path,
				 STATE_MAX_BYTES);
		return 0;
	}
	n = getdelim(&text, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(text);
		return 0; /* empty */
	}
	if (n > STATE_MAX_BYTES || memchr(text, 0, (size_t)n)) {
		report_bad_input("state_file", "%s: not a state file: ignored", path);
		free(text);
		return 0;
	}
	rc = ipvsd_state_parse(text, st);
	free(text);
	return rc;
}

int ipvsd_state_save(const char *dir, const struct ipvsd_state *st)
{
	char path[4096], tmp[4200], *text = NULL;
	int fd = -1, rc;
	size_t len, off = 0;

	if ((rc = daemon_make_run_dir(dir)) < 0)
		goto done;
	if ((rc = ipvsd_state_format(st, &text)) < 0)
		goto done;
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		goto done;
	}
	len = strlen(text);
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			goto done;
		}
		off += (size_t)w;
	}
	/* No fsync: this runs on the event loop before kernel changes, and the
	 * file only has to outlive an ipvsd restart, not a reboot (a reboot
	 * empties the kernel state it describes). rename keeps it whole. */
	if (close(fd) < 0) {
		rc = -errno;
		fd = -1;
		goto done;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto done;
	}
	counter_inc("state_writes");
	rc = 0;
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (rc < 0) {
		counter_inc("state_write_failures");
		log_limited(LOG_LVL_WARN, "state", "state file in %s not written: %s", dir,
			    strerror(-rc));
	}
	free(text);
	return rc;
}

int ipvsd_state_remove(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE_NAME);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
