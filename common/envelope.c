// SPDX-License-Identifier: Apache-2.0
#include "common/envelope.h"

#include <errno.h>
#include <stdlib.h>

/* Which body field each type requires. */
static const struct {
	int type;
	const char *name;
	size_t body;
} types[] = {
#define T(t, field) { L4LB__V1__ENVELOPE__TYPE__##t, #field, offsetof(Envelope, field) }
	T(STATUS_REQUEST, status_request),
	T(STATUS_REPLY, status_reply),
	T(SNAPSHOT_REQUEST, snapshot_request),
	T(VIP_TABLE, vip_table),
	T(REACHABILITY, reachability),
	T(IPVS_STATE_REQUEST, ipvs_state_request),
	T(IPVS_STATE, ipvs_state),
	T(OVERLAY_STATE_REQUEST, overlay_state_request),
	T(OVERLAY_STATE, overlay_state),
	T(ERROR, error),
	T(VIP_TABLE_DELTA, vip_table_delta),
#undef T
};

void ipc_buf_free(struct ipc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

const char *envelope_type_name(int type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return "unknown";
}

int envelope_pack(const Envelope *env, struct ipc_buf *out)
{
	size_t len = l4lb__v1__envelope__get_packed_size(env);

	out->data = NULL;
	out->len = 0;
	if (len > ENVELOPE_MAX_SIZE)
		return -EMSGSIZE;
	out->data = malloc(len ? len : 1);
	if (!out->data)
		return -ENOMEM;
	out->len = l4lb__v1__envelope__pack(env, out->data);
	return 0;
}

Envelope *envelope_unpack(const void *data, size_t len, const char **why)
{
	Envelope *env;

	*why = NULL;
	if (len > ENVELOPE_MAX_SIZE) {
		*why = "message too large";
		return NULL;
	}
	env = l4lb__v1__envelope__unpack(NULL, len, data);
	if (!env) {
		*why = "not a valid l4lb.v1.Envelope";
		return NULL;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].type != (int)env->type)
			continue;
		if (*(void **)((char *)env + types[i].body) == NULL) {
			*why = "envelope body missing for its type";
			break;
		}
		return env;
	}
	if (!*why)
		*why = "unknown envelope type";
	envelope_free(env);
	return NULL;
}

void envelope_free(Envelope *env)
{
	if (env)
		l4lb__v1__envelope__free_unpacked(env, NULL);
}

int envelope_pack_error(struct ipc_buf *out, const char *message)
{
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	L4lb__V1__Error err = L4LB__V1__ERROR__INIT;

	err.message = (char *)message;
	env.type = L4LB__V1__ENVELOPE__TYPE__ERROR;
	env.has_type = 1;
	env.error = &err;
	return envelope_pack(&env, out);
}

int envelope_pack_request(int type, struct ipc_buf *out)
{
	Envelope env = L4LB__V1__ENVELOPE__INIT;
	L4lb__V1__StatusRequest status = L4LB__V1__STATUS_REQUEST__INIT;
	L4lb__V1__SnapshotRequest snap = L4LB__V1__SNAPSHOT_REQUEST__INIT;
	L4lb__V1__IpvsStateRequest ipvs = L4LB__V1__IPVS_STATE_REQUEST__INIT;
	L4lb__V1__OverlayStateRequest overlay = L4LB__V1__OVERLAY_STATE_REQUEST__INIT;

	/* a request without its body is refused by envelope_unpack */
	switch (type) {
	case L4LB__V1__ENVELOPE__TYPE__STATUS_REQUEST:
		env.status_request = &status;
		break;
	case L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST:
		env.snapshot_request = &snap;
		break;
	case L4LB__V1__ENVELOPE__TYPE__IPVS_STATE_REQUEST:
		env.ipvs_state_request = &ipvs;
		break;
	case L4LB__V1__ENVELOPE__TYPE__OVERLAY_STATE_REQUEST:
		env.overlay_state_request = &overlay;
		break;
	default:
		return -EINVAL;
	}
	env.has_type = 1;
	env.type = type;
	return envelope_pack(&env, out);
}
