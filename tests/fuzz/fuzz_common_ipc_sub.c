// SPDX-License-Identifier: Apache-2.0
/* What a subscriber (ipvsd of vipd's VIP table and overlayd's reachability)
 * does with the bytes it receives (common/ipc.c ipc_sub_receive): envelope
 * unpack, type check, (epoch, generation) ordering, and the raw hooks ipvsd
 * uses for the VIP table. Input: a byte choosing the subscription (bit 0:
 * VIP table or reachability; bit 1: with raw hooks), then messages, each a
 * flags byte (bit 0: the answer to a snapshot request; bit 1: the raw apply
 * takes it, or with bit 3 leaves it alone (IPC_RAW_SKIPPED: the reader
 * holds a newer table); bit 2: the raw peek reads a version from its last
 * 16 bytes, as a walker might accept bytes the full unpack refuses), a
 * 16-bit length and the bytes. Checked: only envelopes of the subscribed
 * type reach the snapshot callback, and every delivery is newer than the
 * one before. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/counters.h"
#include "common/ipc.h"
#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	int type;
	uint8_t flags;        /* of the message being received */
	int peeked;           /* the raw peek gave a version for it */
	uint64_t epoch, gen;  /* that version */
	struct snap_seq seen; /* of the deliveries so far */
} st;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_ipc_sub", LOG_LVL_ERROR);
	log_limited_interval(3600); /* a few lines per kind, not one per input */
	return 0;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void delivered(uint64_t epoch, uint64_t gen)
{
	if (snap_seq_check(&st.seen, epoch, gen) != SNAP_NEWER)
		abort(); /* a snapshot delivered that is not newer */
}

static void on_snapshot(const Envelope *env, void *arg)
{
	(void)arg;
	if ((int)env->type != st.type)
		abort();
	/* after the raw hooks, ordering was by the version the peek read */
	if (st.peeked)
		delivered(st.epoch, st.gen);
	else if (env->type == L4LB__V1__ENVELOPE__TYPE__VIP_TABLE)
		delivered(env->vip_table->publisher_epoch, env->vip_table->generation);
	else
		delivered(env->reachability->publisher_epoch, env->reachability->generation);
}

static int peek(const void *data, size_t len, uint64_t *epoch, uint64_t *gen, void *arg)
{
	(void)arg;
	if (!(st.flags & 4) || len < 16)
		return -1;
	*epoch = st.epoch = le64((const uint8_t *)data + len - 16);
	*gen = st.gen = le64((const uint8_t *)data + len - 8);
	st.peeked = 1;
	return 0;
}

static int apply(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	(void)arg;
	if (!(st.flags & 2))
		return -1;
	/* applied or skipped (the reader holds a newer table), the version is
	 * consumed: the subscriber orders what follows after it */
	delivered(st.epoch, st.gen);
	if (st.flags & 8)
		return IPC_RAW_SKIPPED;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_sub *sub;
	size_t off = 1;

	if (size < 1)
		return 0;
	memset(&st, 0, sizeof(st));
	st.type = data[0] & 1 ? L4LB__V1__ENVELOPE__TYPE__REACHABILITY
			      : L4LB__V1__ENVELOPE__TYPE__VIP_TABLE;
	sub = ipc_sub_detached(st.type, on_snapshot, NULL);
	if (!sub)
		return 0;
	if (data[0] & 2)
		ipc_sub_set_raw(sub, peek, apply);
	while (off + 3 <= size) {
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		uint64_t rx = counter_value("ipc_rx_messages");

		st.flags = data[off];
		st.peeked = 0;
		off += 3;
		if (len > size - off)
			len = size - off;
		/* a copy of its own: ASan sees a read past the message */
		uint8_t *msg = malloc(len ? len : 1);

		if (!msg)
			break;
		memcpy(msg, data + off, len);
		ipc_sub_receive(sub, msg, len, st.flags & 1);
		free(msg);
		if (counter_value("ipc_rx_messages") != rx + 1)
			abort();
		off += len;
	}
	ipc_sub_close(sub);
	return 0;
}
