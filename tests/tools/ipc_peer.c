// SPDX-License-Identifier: Apache-2.0
/*
 * A real process on the real IPC library, for tests/it_ipc.sh:
 *   ipc_peer pub RUN_DIR BACKENDS GENERATION   publish a VIP table until SIGTERM
 *   ipc_peer sub RUN_DIR                       print every snapshot received
 *   ipc_peer raw URL FILE [TIMEOUT_MS]         send FILE's bytes as a request,
 *                                              wait for a reply (default 5000 ms)
 * Snapshots are summarised as "gen=G backends=N sum=S" so the test can
 * check that what arrived is exactly what was sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"

static uint64_t table_sum(const L4lb__V1__VipTable *t, size_t *nbackends)
{
	uint64_t h = 1469598103934665603ull;

	*nbackends = 0;
	for (size_t i = 0; i < t->n_vips; i++) {
		const L4lb__V1__Vip *v = t->vips[i];

		for (size_t j = 0; j < v->n_backends; j++) {
			const L4lb__V1__Backend *b = v->backends[j];
			uint64_t x[3] = { b->port, b->weight, v->port };

			for (size_t k = 0; k < b->ip.len; k++)
				h = (h ^ b->ip.data[k]) * 1099511628211ull;
			for (size_t k = 0; k < 3; k++)
				h = (h ^ x[k]) * 1099511628211ull;
			(*nbackends)++;
		}
	}
	return h;
}

/* BACKENDS backends spread over VIPs of 100 backends each. */
static int build_table(size_t nbackends, uint64_t gen, struct ipc_buf *out)
{
	size_t nvips = (nbackends + 99) / 100, nb = 0;
	L4lb__V1__Vip *vips = calloc(nvips, sizeof(*vips));
	L4lb__V1__Vip **vp = calloc(nvips, sizeof(*vp));
	L4lb__V1__Backend *bs = calloc(nbackends, sizeof(*bs));
	L4lb__V1__Backend **bp = calloc(nbackends, sizeof(*bp));
	uint8_t *ips = calloc(nbackends + nvips, 4);
	L4lb__V1__VipTable t = L4LB__V1__VIP_TABLE__INIT;
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	int rc = -1;

	if (!vips || !vp || !bs || !bp || !ips)
		goto done;
	for (size_t i = 0; i < nvips; i++) {
		uint8_t *vip = ips + 4 * (nbackends + i);

		l4lb__v1__vip__init(&vips[i]);
		vip[0] = 11;
		vip[1] = (uint8_t)(i >> 16);
		vip[2] = (uint8_t)(i >> 8);
		vip[3] = (uint8_t)i;
		vips[i].has_protocol = vips[i].has_port = vips[i].has_ip = 1;
		vips[i].protocol = L4LB__V1__PROTOCOL__TCP;
		vips[i].ip = (ProtobufCBinaryData){ 4, vip };
		vips[i].port = 80;
		vips[i].backends = bp + nb;
		for (; nb < nbackends && vips[i].n_backends < 100; nb++, vips[i].n_backends++) {
			uint8_t *ip = ips + 4 * nb;

			l4lb__v1__backend__init(&bs[nb]);
			ip[0] = 10;
			ip[1] = (uint8_t)(nb >> 16);
			ip[2] = (uint8_t)(nb >> 8);
			ip[3] = (uint8_t)nb;
			bs[nb].has_ip = bs[nb].has_port = bs[nb].has_weight = 1;
			bs[nb].ip = (ProtobufCBinaryData){ 4, ip };
			bs[nb].port = 1024 + (uint32_t)(nb % 30000);
			bs[nb].weight = (uint32_t)(nb % 2);
			bp[nb] = &bs[nb];
		}
		vp[i] = &vips[i];
	}
	t.has_generation = t.has_publisher_epoch = 1;
	t.generation = gen;
	t.publisher_epoch = ipc_new_epoch();
	t.n_vips = nvips;
	t.vips = vp;
	env.has_type = 1;
	env.type = L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	env.vip_table = &t;
	rc = envelope_pack(&env, out);
	if (rc == 0) {
		size_t n;
		uint64_t sum = table_sum(&t, &n);

		printf("published gen=%llu backends=%zu sum=%016llx bytes=%zu\n",
		       (unsigned long long)gen, n, (unsigned long long)sum, out->len);
		fflush(stdout);
	}
done:
	free(vips);
	free(vp);
	free(bs);
	free(bp);
	free(ips);
	return rc;
}

static void on_snapshot(const Envelope *env, void *arg)
{
	size_t n;
	uint64_t sum = table_sum(env->vip_table, &n);

	(void)arg;
	printf("received gen=%llu backends=%zu sum=%016llx\n",
	       (unsigned long long)env->vip_table->generation, n, (unsigned long long)sum);
	fflush(stdout);
}

static int raw_request(const char *url, const char *file, int timeout_ms)
{
	FILE *f = fopen(file, "rb");
	static char buf[40 << 20];
	size_t len;
	Envelope *reply;
	const char *why;
	char *name;

	if (!f)
		return 2;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	reply = ipc_call_raw(url, buf, len, timeout_ms, &why);
	if (!reply) {
		printf("no reply: %s\n", why);
		return 1;
	}
	name = (char *)envelope_type_name(reply->type);
	printf("reply %s%s%s\n", name, reply->error ? ": " : "",
	       reply->error && reply->error->message ? reply->error->message : "");
	envelope_free(reply);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	struct ipc_pub *pub = NULL;
	struct ipc_sub *sub = NULL;
	struct ipc_buf snap;
	char url[256], rep[256];
	int rc;

	log_init("ipc_peer", LOG_LVL_WARN);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "raw") == 0)
		return raw_request(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 5000);
	if (argc < 3)
		return 2;
	d.opts.run_dir = argv[2];
	if (strcmp(argv[1], "pub") == 0 && argc == 5) {
		if (daemon_start(&d, "ipcpeer") < 0 ||
		    daemon_url(&d, "ipcpeer", "pub", url, sizeof(url)) < 0 ||
		    !(pub = ipc_pub_open(d.base, url, d.rep, 1000)) ||
		    build_table(strtoul(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), &snap) < 0)
			return 1;
		ipc_pub_set(pub, &snap);
	} else if (strcmp(argv[1], "sub") == 0 && argc == 3) {
		if (daemon_start(&d, "ipcsub") < 0 ||
		    daemon_url(&d, "ipcpeer", "pub", url, sizeof(url)) < 0 ||
		    daemon_url(&d, "ipcpeer", "rep", rep, sizeof(rep)) < 0 ||
		    !(sub = ipc_sub_open(d.base, url, rep, L4LB__V1__ENVELOPE__TYPE__VIP_TABLE, 3000,
					 on_snapshot, NULL)))
			return 1;
	} else {
		return 2;
	}
	rc = daemon_run(&d);
	ipc_pub_close(pub);
	ipc_sub_close(sub);
	daemon_stop(&d);
	return rc;
}
