// SPDX-License-Identifier: Apache-2.0
/*
 * vipd's master-response parser, model and rules on arbitrary bytes, fed in
 * two chunks (split where the first byte says) so that record boundaries
 * fall anywhere; then the static VIP file parser on the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vipd/apply.h"
#include "vipd/mesos_parse.h"
#include "vipd/named_vip.h"
#include "vipd/rules.h"
#include "vipd/vips_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_rec(struct mesos_record *rec, void *arg)
{
	apply_record(arg, rec, 1000, 1000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model *m = model_new();
	struct mesos_parser *p = mesos_parser_new(on_rec, &m);
	struct vip_table *t;
	size_t cut = size ? data[0] % (size + 1) : 0;
	char err[256];

	mesos_parser_set_live(p, &m); /* snapshots share unchanged tasks, as in vipd */
	if (mesos_parser_feed(p, data, cut) == 0 && mesos_parser_feed(p, data + cut, size - cut) == 0)
		mesos_parser_finish(p);
	t = rules_build(m, NULL, NAMED_VIP4_MIN, NAMED_VIP4_MAX, NULL);
	if (!t)
		abort();
	vip_table_free(t);
	model_expire_carried(m, UINT64_MAX);
	mesos_parser_free(p);
	model_free(m);
	t = vips_parse((const char *)data, size, err, sizeof(err));
	vip_table_free(t);
	return 0;
}
