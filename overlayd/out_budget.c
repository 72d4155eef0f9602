// SPDX-License-Identifier: Apache-2.0
#include "overlayd/out_budget.h"

size_t out_budget_beyond(size_t queued)
{
	return queued > OUT_BUDGET_OWN ? queued - OUT_BUDGET_OWN : 0;
}

enum out_verdict out_budget_admit(size_t queued, size_t shared, size_t len, size_t link_max)
{
	size_t grow = out_budget_beyond(queued + len) - out_budget_beyond(queued);

	if (queued + len > link_max)
		return OUT_LINK_FULL;
	if (!grow)
		return OUT_OK;
	return shared + grow > OUT_BUDGET_TOTAL ? OUT_BUDGET_FULL : OUT_OK;
}
