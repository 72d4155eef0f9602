// SPDX-License-Identifier: Apache-2.0
/* The published snapshot as JSON, for operators and the integration tests. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipc.h"
#include "common/opts.h"
#include "vipd/publish.h"
#include "vipd/show.h"

int show_snapshot(const char *run_dir)
{
	struct ipc_buf req = { 0 };
	struct vip_table *t = NULL;
	const char *why = NULL;
	Envelope *rep;
	char url[256];
	int rc = 1;

	if (ipc_url(url, sizeof(url), run_dir ? run_dir : L4LB_DEFAULT_RUN_DIR, "vipd", "rep") < 0)
		return 1;
	if (envelope_pack_request(L4LB__V1__ENVELOPE__TYPE__SNAPSHOT_REQUEST, &req) < 0) {
		fprintf(stderr, "vipd --show: out of memory\n");
		return 1;
	}
	rep = ipc_call_raw(url, req.data, req.len, 2000, &why);
	ipc_buf_free(&req);
	if (!rep) {
		fprintf(stderr, "vipd --show: %s: %s\n", url, why ? why : "no reply");
		return 1;
	}
	if (!(t = publish_unpack(rep, &why))) {
		fprintf(stderr, "vipd --show: %s\n", why);
		goto done;
	}
	printf("{\"generation\":%" PRIu64 ",", rep->vip_table->generation);
	fflush(stdout);
	/* The rest is exactly --print's shape, minus its opening brace. */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);

		if (!m)
			goto done;
		vip_table_print_json(t, m);
		fclose(m);
		fputs(buf + 1, stdout);
		free(buf);
	}
	rc = 0;
done:
	vip_table_free(t);
	envelope_free(rep);
	return rc;
}
