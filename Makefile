# SPDX-License-Identifier: Apache-2.0
#
# l4lb: `make` builds the daemons and l4lbctl into build/, `make check` runs
# every test suite, `make demo` runs the demo. Sources are picked up by
# directory, so adding a .c file needs no change here.

CC       ?= gcc
ifeq ($(origin CC),default)
CC       := gcc
endif
PREFIX   ?= /usr/local
DESTDIR  ?=
SBINDIR  ?= $(PREFIX)/sbin
BINDIR   ?= $(PREFIX)/bin
UNITDIR  ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR   ?= $(PREFIX)/share/man
B        ?= build

PKG_COMMON  := nanomsg libprotobuf-c libevent
PKG_vipd    := libcurl yajl
PKG_ipvsd   := libnl-3.0 libnl-genl-3.0 libnl-route-3.0 libipset
PKG_overlayd:= libcrypto
PKG_l4lbctl :=
PKG_ALL     := $(PKG_COMMON) $(PKG_vipd) $(PKG_ipvsd) $(PKG_overlayd)

OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CPPFLAGS += -I. -I$(B)/gen -D_GNU_SOURCE
CFLAGS   += -std=gnu11 $(OPT) $(WARN) -MMD -MP $(SAN)
LDFLAGS  += $(SAN)

pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)
CPPFLAGS += $(call pkg_cflags,$(PKG_ALL) cmocka)

DAEMONS  := vipd ipvsd overlayd
PROGS    := $(DAEMONS) l4lbctl

PROTOS   := $(wildcard proto/*.proto)
PB_C     := $(PROTOS:proto/%.proto=$(B)/gen/proto/%.pb-c.c)
PB_H     := $(PB_C:.c=.h)
PB_O     := $(PB_C:$(B)/gen/%.c=$(B)/obj/%.o)

COMMON_O := $(patsubst %.c,$(B)/obj/%.o,$(wildcard common/*.c)) $(PB_O)

# Each program: all .c files of its directory; main.c is left out of the
# library the tests link against.
srcdir_vipd     := vipd
srcdir_ipvsd    := ipvsd
srcdir_overlayd := overlayd
srcdir_l4lbctl  := contrib/l4lbctl
lib_objs  = $(patsubst %.c,$(B)/obj/%.o,$(filter-out $(srcdir_$(1))/main.c,$(wildcard $(srcdir_$(1))/*.c)))
main_obj  = $(B)/obj/$(srcdir_$(1))/main.o

.PHONY: all deps check check-unit check-vm check-asan tests asan demo bench install uninstall clean format fuzz fuzz-build check-long
all: $(PROGS:%=$(B)/%)

define prog_rule
$(B)/$(1): $(call main_obj,$(1)) $(call lib_objs,$(1)) $(COMMON_O)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(call pkg_libs,$(PKG_COMMON) $(PKG_$(1))) -lm
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

# Generated protobuf code; every object depends on the headers so that a
# parallel build never compiles against a missing one.
$(B)/gen/proto/%.pb-c.c $(B)/gen/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/gen/proto
	protoc-c --c_out=$(B)/gen/proto -Iproto $<

$(B)/obj/%.o: %.c | $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# Generated code is not ours to keep warning-free.
$(B)/obj/proto/%.o: $(B)/gen/proto/%.c | $(PB_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(filter-out -Werror -Wmissing-prototypes,$(CFLAGS)) -c -o $@ $<

# Unit tests: tests/test_<module>.c, one per module. A test named
# test_<prog>_*.c links that program's objects (without main.c).
TEST_SRCS := $(wildcard tests/test_*.c)
TESTS     := $(TEST_SRCS:tests/%.c=$(B)/tests/%)
test_prog  = $(firstword $(foreach p,$(PROGS),$(if $(filter test_$(p)_%,$(1)),$(p))))

define test_rule
$(B)/tests/$(1): $(B)/obj/tests/$(1).o $(call lib_objs,$(call test_prog,$(1))) $(COMMON_O)
	@mkdir -p $(B)/tests
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(call pkg_libs,$(PKG_ALL) cmocka) -lm
endef
$(foreach t,$(TEST_SRCS:tests/%.c=%),$(eval $(call test_rule,$(t))))

# Helper programs the integration tests run (tests/tools/<name>.c).
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOLS     := $(TOOL_SRCS:tests/tools/%.c=$(B)/tests/tools/%)
$(B)/tests/tools/%: $(B)/obj/tests/tools/%.o $(COMMON_O)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_COMMON)) -lm

# Fuzzers (libFuzzer, clang, ASan + UBSan): tests/fuzz/fuzz_<prog>_*.c
# links that program's sources like the unit tests do. `make fuzz` runs
# each for FUZZ_SECONDS from its seed corpus in tests/fuzz/corpus/<name>/;
# crashes are left in build/fuzz/ as crash-* files.
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS      := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -D_GNU_SOURCE -I. -Ibuild/gen
fuzz_srcs = $(filter-out $(srcdir_$(1))/main.c,$(wildcard $(srcdir_$(1))/*.c))
fuzz_prog = $(firstword $(foreach p,$(PROGS),$(if $(filter fuzz_$(p)_%,$(1)),$(p))))

define fuzz_rule
build/fuzz/$(1): tests/fuzz/$(1).c $(call fuzz_srcs,$(call fuzz_prog,$(1))) $(wildcard common/*.c common/*.h) $(PB_C) | $(PB_H)
	@mkdir -p build/fuzz
	clang $(FUZZ_CFLAGS) $(call pkg_cflags,$(PKG_ALL)) -o $$@ $$(filter %.c,$$^) \
		$$(call pkg_libs,$(PKG_ALL)) -lm
endef
$(foreach f,$(FUZZ_SRCS:tests/fuzz/%.c=%),$(eval $(call fuzz_rule,$(f))))

fuzz-build: $(FUZZERS)

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
		n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_SECONDS) s)"; \
		(cd build/fuzz && ./$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			corpus/$$n ../../tests/fuzz/corpus/$$n 2>&1 | \
			grep -E 'stat::number_of_executed_units|cov:|ERROR|SUMMARY' | tail -n 3) || exit 1; \
	done

deps:
	@contrib/deps.sh

check: deps
	@$(MAKE) --no-print-directory -j$$(nproc) all tests
	@tests/run.sh $(B)
	@$(MAKE) --no-print-directory check-asan

tests: all $(TESTS) $(TOOLS)

check-unit: all $(TESTS) $(TOOLS)
	@L4LB_TESTS=unit tests/run.sh $(B)

asan:
	@$(MAKE) --no-print-directory B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all tests
	@L4LB_TESTS=unit ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run.sh build/asan

# The unit and integration suites (not the VM ones) against an ASan + UBSan
# build, failing on any sanitizer report (tests/sanitize.sh).
check-asan:
	@$(MAKE) --no-print-directory -j$$(nproc) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all tests
	@tests/sanitize.sh build/asan

# deps first, then a new make that sees the packages deps installed.
demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo.sh $(B)

# Long runs, not in CI's default `make check`: overlayd's scenarios with 50
# processes on loopback and the 10-minute 5 % loss soak at N = 10 in
# network namespaces (needs root); then the cluster soak in the VM
# (tests/vm/soak.sh): SOAK_MINUTES of load and churn on 3 nodes.
SOAK_MINUTES ?= 30
check-long: all tests
	@OVERLAY_SIM_LONG=1 $(B)/tests/test_overlayd_sim
	@python3 bench/overlayd_bench.py $(B) 50 $${OVERLAYD_BENCH_TRIALS:-20}
	@OVERLAYD_NETNS_NODES=10 OVERLAYD_LOSS_SECS=$${OVERLAYD_LOSS_SECS:-600} \
		sh tests/it_overlayd_netns.sh $(B)
	@L4LB_SOAK_MINUTES=$(SOAK_MINUTES) L4LB_VM_TIMEOUT=$$(($(SOAK_MINUTES) * 60 + 900)) \
		tests/vm/run.sh tests/vm/soak.sh $(B)

# Benchmarks: every bench/*_bench.sh, given the build directory.
bench: all
	@for b in bench/*_bench.sh; do sh "$$b" $(B) || exit 1; done

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(DAEMONS:%=$(B)/%) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(B)/l4lbctl $(DESTDIR)$(BINDIR)/
	@contrib/install-ops.sh "$(DESTDIR)" "$(SBINDIR)" "$(UNITDIR)" "$(SYSUSERSDIR)" "$(MANDIR)"

uninstall:
	rm -f $(DAEMONS:%=$(DESTDIR)$(SBINDIR)/%) $(DESTDIR)$(BINDIR)/l4lbctl
	@contrib/install-ops.sh -u "$(DESTDIR)" "$(SBINDIR)" "$(UNITDIR)" "$(SYSUSERSDIR)" "$(MANDIR)"

format:
	clang-format -i $(wildcard */*.c */*.h contrib/*/*.c)

clean:
	rm -rf build

# Keep generated and intermediate files (protobuf sources, objects of tools).
.SECONDARY:

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
