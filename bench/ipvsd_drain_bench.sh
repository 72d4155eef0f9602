#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# ipvsd's drain planning on the host (no kernel): a node going down in
# 1,000 x 10 and 10,000 x 10 services, and a drain tick while every service
# drains, each against a baseline measured in the same run
# (bench/ipvsd_drain.c): the ratios must stay flat as the table grows.
set -eu
B=${1:-build}
cd "$(dirname "$0")/.."
D=$B/bench
mkdir -p "$D"
objs=$(ls "$B"/obj/ipvsd/*.o | grep -v "/main.o$")
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I. -I"$B/gen" -D_GNU_SOURCE \
	$(pkg-config --cflags libnl-3.0) -o "$D/ipvsd_drain" bench/ipvsd_drain.c $objs \
	"$B"/obj/common/*.o "$B"/obj/proto/*.o \
	$(pkg-config --libs nanomsg libprotobuf-c libevent libnl-3.0 libnl-genl-3.0 \
		libnl-route-3.0 libipset) -lm
nice "$D/ipvsd_drain" 1000 10 30
nice "$D/ipvsd_drain" 10000 10 10
