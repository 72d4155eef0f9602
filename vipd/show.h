/* SPDX-License-Identifier: Apache-2.0 */
/* `vipd --show`: asks the running vipd for its snapshot and prints it. */
#ifndef VIPD_SHOW_H
#define VIPD_SHOW_H

/* Prints {"generation":G,"source":"...","vips":[...]}; 0, or 1 on error. */
int show_snapshot(const char *run_dir);

#endif
