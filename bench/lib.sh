# SPDX-License-Identifier: Apache-2.0
# Sourced by the host benchmarks of ipvsd's pure parts (from the repository
# root, with B the build directory): bench_ipvsd NAME builds bench/NAME.c
# against ipvsd's objects (all but main.o) into $B/bench/NAME.
bench_ipvsd() {
	mkdir -p "$B/bench"
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I. -I"$B/gen" -D_GNU_SOURCE \
		$(pkg-config --cflags libnl-3.0) -o "$B/bench/$1" "bench/$1.c" \
		$(ls "$B"/obj/ipvsd/*.o | grep -v "/main.o$") \
		"$B"/obj/common/*.o "$B"/obj/proto/*.o \
		$(pkg-config --libs nanomsg libprotobuf-c libevent libnl-3.0 libnl-genl-3.0 \
			libnl-route-3.0 libipset) -lm
}
