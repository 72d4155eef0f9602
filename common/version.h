/* SPDX-License-Identifier: Apache-2.0 */
#ifndef L4LB_VERSION_H
#define L4LB_VERSION_H

#define L4LB_VERSION "0.1.0"

#endif
