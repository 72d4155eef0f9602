/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one IPC envelope codec. Every message on every l4lb socket is an
 * l4lb.v1.Envelope; decoding checks the size before unpacking and that the
 * body named by `type` is present, so handlers never see a half message.
 */
#ifndef L4LB_ENVELOPE_H
#define L4LB_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/l4lb.pb-c.h"

typedef L4lb__V1__Envelope Envelope;

/* Large enough for a VIP table of far more than 100,000 backends (~25 bytes
 * each); anything bigger is refused before protobuf-c sees it. */
#define ENVELOPE_MAX_SIZE (32u << 20)

struct ipc_buf {
	uint8_t *data;
	size_t len;
};

void ipc_buf_free(struct ipc_buf *b);

/* Packs `env` into a malloc'd buffer. 0, or -ENOMEM / -EMSGSIZE. */
int envelope_pack(const Envelope *env, struct ipc_buf *out);

/*
 * Unpacks and validates a received message. Returns the envelope (free it
 * with envelope_free) or NULL with *why set to a static reason; the caller
 * counts and logs via report_bad_input.
 */
Envelope *envelope_unpack(const void *data, size_t len, const char **why);
void envelope_free(Envelope *env);

/* Human-readable type name ("vip_table"), "unknown" for others. */
const char *envelope_type_name(int type);

/* A ready-to-send ERROR envelope. */
int envelope_pack_error(struct ipc_buf *out, const char *message);

/* A ready-to-send request with its (empty) body: STATUS_REQUEST,
 * SNAPSHOT_REQUEST, IPVS_STATE_REQUEST or OVERLAY_STATE_REQUEST. 0, -EINVAL
 * for another type, or what envelope_pack returns. */
int envelope_pack_request(int type, struct ipc_buf *out);

#endif
