# stallwatch - GNU Makefile (libbpf-tools shape: one file, OUTPUT dir, V=1).
#
#   make              build ./stallwatch (never installs anything)
#   make deps         install the missing Debian packages that building and
#                     running need (apt-get, root; contrib/install-deps.sh)
#   make deps-check   deps + the packages the tests use (install-deps.sh --check)
#   make demo         deps + build + run the demo workload under stallwatch
#   make check        deps-check + build (-Werror) + every test, also under ASan+UBSan
#   make install      PREFIX=/usr/local DESTDIR= (binary, man page, default policy,
#                     systemd units, logrotate file; not stripped); make uninstall
#   make check-format / make cppcheck
#   make bench        the full benchmark (bench/run.sh, < 10 min; rewrites doc/performance.md)
#   make bench-quick  getppid only, 5 tools, bpf among them (bench/quick.sh, seconds)
#   make fuzz         libFuzzer + ASan/UBSan on the policy loader (clang), FUZZ_SECONDS=60
#   make fuzz-replay  build and run the fuzz corpus replay (no clang; also a unit test)
#
# The bpf backend's kernel program (tracer/bpf/watch.bpf.c) is compiled with
# clang -target bpf and turned into $(OUTPUT)/gen/watch.skel.h by bpftool
# gen skeleton before any tracer/*.c object; BPF_CLANG, LLVM_STRIP, BPFTOOL
# and BPF_CFLAGS pick the tools and flags.
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS from the environment are honoured; the
# project's own flags are appended. WERROR=1 adds -Werror (check and CI).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
INSTALL ?= install
PKG_CONFIG ?= pkg-config

CC ?= cc
CFLAGS ?= -O2 -g
OUTPUT ?= build
SANITIZE ?=
WERROR ?=
VERSION := 0.1.0

PKGS := libseccomp jansson libcgroup
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null || echo -lseccomp -ljansson -lcgroup)
# libbpf with what it links against (libelf, zlib): --static lists them, so a
# static libbpf.a links too
LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS := $(shell $(PKG_CONFIG) --libs --static libbpf 2>/dev/null || echo -lbpf -lelf -lz)
PKG_CFLAGS += $(LIBBPF_CFLAGS)
PKG_LIBS += $(LIBBPF_LIBS)
# log() and ldexp() of the ENOENT-storm sketch (tracer/enoent.c)
PKG_LIBS += -lm

# The kernel program: clang -target bpf, stripped of DWARF (the BTF it needs
# stays; 44 KB instead of 660 KB), embedded in a bpftool skeleton.
BPF_CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
BPF_CFLAGS ?= -g -O2
BPF_SRC := tracer/bpf/watch.bpf.c
BPF_OBJ := $(OUTPUT)/bpf/watch.bpf.o
BPF_SKEL := $(OUTPUT)/gen/watch.skel.h

SW_CFLAGS := -std=gnu17 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
	-D_GNU_SOURCE -DSW_VERSION=\"$(VERSION)\" -I. -I$(OUTPUT)/gen $(PKG_CFLAGS)
ifneq ($(WERROR),)
SW_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(SW_CFLAGS) $(SAN_FLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

LIB_SRCS := $(wildcard common/*.c policy/*.c tracer/*.c cgroupscan/*.c record/*.c) \
	$(filter-out cli/main.c,$(wildcard cli/*.c))
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/obj/%.o,$(LIB_SRCS))
# contrib/policy/default.json compiled in, so an installed or relocated binary has it
DEFAULT_POLICY_SRC := $(OUTPUT)/gen/default_policy.c
DEFAULT_POLICY_OBJ := $(OUTPUT)/obj/gen/default_policy.o
LIB_OBJS += $(DEFAULT_POLICY_OBJ)
LIB := $(OUTPUT)/libstallwatch.a
MAIN_OBJ := $(OUTPUT)/obj/cli/main.o

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
# the fuzz target replayed over tests/fuzz/corpus; named test_* so tests/run.sh runs it
FUZZ_REPLAY_BIN := $(OUTPUT)/tests/test_fuzz_replay

# make fuzz: the fuzz target built with clang and libFuzzer from the library sources
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
# appended last, e.g. -fsanitize-recover=pointer-overflow with UBSAN_OPTIONS=suppressions=FILE
# to fuzz on past a known finding (rebuild: rm build/fuzz/fuzz_policy)
FUZZ_EXTRA_CFLAGS ?=
FUZZ_DIR := build/fuzz
FUZZ_BIN := $(FUZZ_DIR)/fuzz_policy
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer $(filter-out -Werror,$(SW_CFLAGS))

# Traced helper programs and the demo are built WITHOUT sanitizers: LSan stops
# threads with ptrace from an untraced clone, which fails under a tracer and,
# under our seccomp filter, gets ENOSYS.
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,build/helpers/%,$(HELPER_SRCS))
DEMO_BIN := build/demo_workload

ifeq ($(OUTPUT),build)
BIN := stallwatch
else
BIN := $(OUTPUT)/stallwatch
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps deps-check demo check check-build check-format format cppcheck install uninstall \
	clean helpers unit bench bench-quick fuzz fuzz-replay

all: $(BIN)

$(OUTPUT)/obj/%.o: %.c $(wildcard */*.h tracer/bpf/*.h) Makefile
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BPF_OBJ): $(BPF_SRC) $(wildcard tracer/bpf/*.h) Makefile
	$(call msg,BPF,$@)
	@mkdir -p $(@D)
	$(Q)$(BPF_CLANG) $(BPF_CFLAGS) -target bpf -D__TARGET_ARCH_x86 -Wall -Wextra \
		-Wno-unused-parameter $(if $(WERROR),-Werror) -Itracer/bpf -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(BPF_SKEL): $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name watch_bpf >$@

# tracer/bpf.c includes the skeleton: rebuilt when it changes; the other
# tracer objects only wait for it, in case one includes it too.
$(OUTPUT)/obj/tracer/bpf.o: $(BPF_SKEL)
$(patsubst %.c,$(OUTPUT)/obj/%.o,$(wildcard tracer/*.c)): | $(BPF_SKEL)
$(OUTPUT)/tests/test_bpf_watch: $(BPF_SKEL)

$(DEFAULT_POLICY_SRC): contrib/policy/default.json
	$(call msg,GEN,$@)
	@mkdir -p $(@D)
	$(Q){ echo '/* generated from $< by make: do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'const char policy_default_json[] = {'; \
	  od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00 };'; \
	  echo 'const size_t policy_default_json_len = sizeof(policy_default_json) - 1;'; } >$@

$(DEFAULT_POLICY_OBJ): $(DEFAULT_POLICY_SRC)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(PKG_LIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIB)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< $(LIB) $(PKG_LIBS) -o $@

# bench/progcost.sh's host-wide windows: tracer_watch() alone (no cli/watch.c needed)
$(OUTPUT)/bench/watchhost: bench/watchhost.c $(LIB)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $< $(LIB) $(PKG_LIBS) -o $@

$(FUZZ_REPLAY_BIN): tests/fuzz/replay.c tests/fuzz/fuzz_policy.c $(LIB)
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) tests/fuzz/replay.c tests/fuzz/fuzz_policy.c $(LIB) \
		$(PKG_LIBS) -o $@

unit: $(UNIT_BINS) $(FUZZ_REPLAY_BIN)

fuzz-replay: $(FUZZ_REPLAY_BIN)
	$(Q)$(FUZZ_REPLAY_BIN) tests/fuzz/corpus

# New inputs stay in build/fuzz/corpus (a copy); crashes, leaks and timeouts land in build/fuzz/.
$(FUZZ_BIN): tests/fuzz/fuzz_policy.c $(LIB_SRCS) $(DEFAULT_POLICY_SRC) $(BPF_SKEL) $(wildcard */*.h) Makefile
	$(call msg,CLANG,$@)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_EXTRA_CFLAGS) $< $(LIB_SRCS) \
		$(DEFAULT_POLICY_SRC) $(PKG_LIBS) -o $@

fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_DIR)/corpus
	@cp tests/fuzz/corpus/* $(FUZZ_DIR)/corpus/
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=20 \
		-dict=tests/fuzz/policy.dict -artifact_prefix=$(FUZZ_DIR)/ -print_final_stats=1 \
		$(FUZZ_ARGS) $(FUZZ_DIR)/corpus

build/helpers/%: tests/helpers/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu17 -Wall -Wextra -D_GNU_SOURCE -pthread $< -o $@ \
		$(LDFLAGS) -pthread $(HELPER_LIBS)

# noptrace loads a seccomp filter of its own (libseccomp)
build/helpers/noptrace: HELPER_LIBS = $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null || echo -lseccomp)

helpers: $(HELPER_BINS) $(DEMO_BIN)

$(DEMO_BIN): contrib/demo/demo_workload.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu17 -Wall -Wextra -D_GNU_SOURCE $< -o $@ $(LDFLAGS)

deps:
	@./contrib/install-deps.sh

deps-check:
	@./contrib/install-deps.sh --check

demo: deps
	$(Q)$(MAKE) --no-print-directory all $(DEMO_BIN)
	@./contrib/demo/run-demo.sh ./stallwatch $(DEMO_BIN)

# The sanitizer tree lives in build/asan; everything else in build/.
check-build:
	$(Q)$(MAKE) --no-print-directory WERROR=1 all unit helpers
	$(Q)$(MAKE) --no-print-directory WERROR=1 OUTPUT=build/asan SANITIZE=1 all unit

check: deps-check
	$(Q)$(MAKE) --no-print-directory check-build
	@tests/run.sh

FORMAT_SRCS = $(wildcard */*.c */*.h tracer/bpf/*.c tracer/bpf/*.h tests/*/*.c tests/*/*.h \
	contrib/demo/*.c)
check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

# tracer/bpf/*.bpf.c is BPF C (SEC(), BPF_PROG(), no libc): clang checks it (-Wall -Wextra)
cppcheck:
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem --std=c11 -D_GNU_SOURCE -I. \
		$(addprefix -i,$(wildcard tracer/bpf/*.bpf.c)) common policy tracer cgroupscan record cli

bench: all
	@bench/run.sh

bench-quick: all
	@bench/quick.sh

# The units name /usr/bin/stallwatch; the installed copies name $(BINDIR)/stallwatch.
SYSTEMD_UNITS := stallwatch.service stallwatch@.service

install: $(BIN)
	$(INSTALL) -D -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/stallwatch
	$(INSTALL) -D -m 0644 doc/stallwatch.8 $(DESTDIR)$(MANDIR)/man8/stallwatch.8
	$(INSTALL) -D -m 0644 contrib/policy/default.json $(DESTDIR)$(SYSCONFDIR)/stallwatch/default.json
	$(INSTALL) -D -m 0644 contrib/logrotate/stallwatch $(DESTDIR)$(SYSCONFDIR)/logrotate.d/stallwatch
	$(INSTALL) -m 0755 -d $(DESTDIR)$(UNITDIR)
	set -e; for u in $(SYSTEMD_UNITS); do \
		sed 's|/usr/bin/stallwatch|$(BINDIR)/stallwatch|g' contrib/systemd/$$u >$(OUTPUT)/$$u.tmp; \
		$(INSTALL) -m 0644 $(OUTPUT)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u; \
		rm -f $(OUTPUT)/$$u.tmp; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/stallwatch $(DESTDIR)$(MANDIR)/man8/stallwatch.8 \
		$(DESTDIR)$(SYSCONFDIR)/stallwatch/default.json \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/stallwatch \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(SYSTEMD_UNITS))

clean:
	rm -rf build stallwatch
