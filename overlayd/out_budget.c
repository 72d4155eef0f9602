// SPDX-License-Identifier: Apache-2.0
#include "overlayd/out_budget.h"

enum out_verdict out_budget_admit(size_t queued, size_t total, size_t len, size_t link_max)
{
	if (queued + len > link_max)
		return OUT_LINK_FULL;
	if (queued + len <= OUT_BUDGET_OWN)
		return OUT_OK;
	return total + len > OUT_BUDGET_TOTAL ? OUT_BUDGET_FULL : OUT_OK;
}
