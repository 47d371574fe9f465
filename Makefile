# stallwatch - GNU Makefile (libbpf-tools shape: one file, OUTPUT dir, V=1).
#
#   make              build ./stallwatch (never installs anything)
#   make deps         install missing Debian packages (apt-get, root)
#   make demo         deps + build + run the demo workload under stallwatch
#   make check        deps + build (-Werror) + every test, also under ASan+UBSan
#   make install      PREFIX=/usr/local DESTDIR= (binary + man page, not stripped)
#   make check-format / make cppcheck / make bench
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS from the environment are honoured; the
# project's own flags are appended. WERROR=1 adds -Werror (check and CI).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
DESTDIR ?=
INSTALL ?= install
PKG_CONFIG ?= pkg-config

CC ?= cc
CFLAGS ?= -O2 -g
OUTPUT ?= build
SANITIZE ?=
WERROR ?=
VERSION := 0.1.0

PKGS := libseccomp jansson
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null || echo -lseccomp -ljansson)

SW_CFLAGS := -std=gnu17 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
	-D_GNU_SOURCE -DSW_VERSION=\"$(VERSION)\" -I. $(PKG_CFLAGS)
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

LIB_SRCS := $(wildcard common/*.c policy/*.c tracer/*.c record/*.c) \
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
.PHONY: all deps demo check check-build check-format format cppcheck install uninstall \
	clean helpers unit bench

all: $(BIN)

$(OUTPUT)/obj/%.o: %.c $(wildcard */*.h) Makefile
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

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

unit: $(UNIT_BINS)

build/helpers/%: tests/helpers/%.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu17 -Wall -Wextra -D_GNU_SOURCE -pthread $< -o $@ \
		$(LDFLAGS) -pthread

helpers: $(HELPER_BINS) $(DEMO_BIN)

$(DEMO_BIN): contrib/demo/demo_workload.c
	$(call msg,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -std=gnu17 -Wall -Wextra -D_GNU_SOURCE $< -o $@ $(LDFLAGS)

deps:
	@./contrib/install-deps.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all $(DEMO_BIN)
	@./contrib/demo/run-demo.sh ./stallwatch $(DEMO_BIN)

# The sanitizer tree lives in build/asan; everything else in build/.
check-build:
	$(Q)$(MAKE) --no-print-directory WERROR=1 all unit helpers
	$(Q)$(MAKE) --no-print-directory WERROR=1 OUTPUT=build/asan SANITIZE=1 all unit

check: deps
	$(Q)$(MAKE) --no-print-directory check-build
	@tests/run.sh

FORMAT_SRCS = $(wildcard */*.c */*.h tests/*/*.c tests/*/*.h contrib/demo/*.c)
check-format:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

cppcheck:
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem --std=c11 -D_GNU_SOURCE -I. \
		common policy tracer record cli

bench: all
	@bench/quick.sh

install: $(BIN)
	$(INSTALL) -m 0755 -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/stallwatch
	$(INSTALL) -m 0644 doc/stallwatch.8 $(DESTDIR)$(MANDIR)/man8/stallwatch.8
	$(INSTALL) -m 0755 -d $(DESTDIR)$(SYSCONFDIR)/stallwatch
	$(INSTALL) -m 0644 contrib/policy/default.json $(DESTDIR)$(SYSCONFDIR)/stallwatch/default.json

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/stallwatch $(DESTDIR)$(MANDIR)/man8/stallwatch.8 \
		$(DESTDIR)$(SYSCONFDIR)/stallwatch/default.json

clean:
	rm -rf build stallwatch
