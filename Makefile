# jouletrace — one non-recursive Makefile, out-of-tree objects under build/.
#   make                  release build into build/
#   make DEVELOPER=1      adds -Werror and stricter warnings
#   make SANITIZE=address,undefined   separate tree build/san-address-undefined/
#   make V=1              show full command lines
#   make test             unit tests (Check); scripts/test.sh runs everything

comma := ,
BUILD ?= build
ifneq ($(strip $(SANITIZE)),)
BUILD := build/san-$(subst $(comma),-,$(SANITIZE))
endif

ifeq ($(V),1)
Q :=
quiet = @:
else
Q := @
quiet = @printf '  %-7s %s\n'
endif

CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool
PKGS    := libmicrohttpd hiredis libsodium jansson libbpf libseccomp
CPPFLAGS += -D_GNU_SOURCE -Ilib -Iexecutor -Iserver -Iworker -I$(BUILD)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -Wall -Wextra -MMD -MP -pthread -fno-strict-aliasing
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -pthread
ifeq ($(DEVELOPER),1)
CFLAGS  += -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wvla -Wundef -Wcast-align -Wwrite-strings \
           -Wold-style-definition -Wno-unused-parameter
endif
ifneq ($(strip $(SANITIZE)),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

# --- sources -------------------------------------------------------------
CORE_SRCS   := $(wildcard lib/*.c) $(wildcard executor/*.c)
SERVER_SRCS := $(filter-out server/main.c,$(wildcard server/*.c))
WORKER_SRCS := $(filter-out worker/main.c,$(wildcard worker/*.c))
TEST_SRCS   := $(wildcard tests/unit/test_*.c)
TOOL_SRCS   := $(wildcard tools/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
CORE_LIB   := $(BUILD)/libjouletrace.a
SERVER_LIB := $(BUILD)/libjtserver.a
WORKER_LIB := $(BUILD)/libjtworker.a

# Each tools/NAME.c is a small command, jouletrace-NAME, over the core library.
TOOLS := $(patsubst tools/%.c,$(BUILD)/jouletrace-%,$(TOOL_SRCS))
BINS := $(BUILD)/jouletrace-server $(BUILD)/jouletrace-worker \
        $(BUILD)/jouletrace-calibrate $(TOOLS)
TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

all: $(BINS)
.PHONY: all test clean
# Test objects are intermediate in a pattern chain; keep them so rebuilds are incremental.
.SECONDARY:

$(BUILD)/%.o: %.c
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# --- eBPF (libbpf-bootstrap style): vmlinux.h -> oncpu.bpf.o -> oncpu.skel.h ---
# Own flags on purpose: the BPF object never gets CFLAGS (sanitizers, -MMD...).
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(BUILD)
$(BUILD)/vmlinux.h:
	$(quiet) GEN $@
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@
$(BUILD)/oncpu.bpf.o: bpf/oncpu.bpf.c bpf/oncpu_bpf.h $(BUILD)/vmlinux.h
	$(quiet) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c -o $@ $<
$(BUILD)/oncpu.skel.h: $(BUILD)/oncpu.bpf.o
	$(quiet) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name oncpu_bpf > $@.tmp && mv $@.tmp $@
$(BUILD)/lib/oncpu.o: $(BUILD)/oncpu.skel.h

$(CORE_LIB): $(call obj,$(CORE_SRCS))
$(SERVER_LIB): $(call obj,$(SERVER_SRCS))
$(WORKER_LIB): $(call obj,$(WORKER_SRCS))
$(CORE_LIB) $(SERVER_LIB) $(WORKER_LIB):
	$(quiet) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/jouletrace-server: $(BUILD)/server/main.o $(SERVER_LIB) $(CORE_LIB)
$(BUILD)/jouletrace-worker: $(BUILD)/worker/main.o $(WORKER_LIB) $(CORE_LIB)
$(BUILD)/jouletrace-calibrate: $(BUILD)/calib/main.o $(CORE_LIB)
$(TOOLS): $(BUILD)/jouletrace-%: $(BUILD)/tools/%.o $(CORE_LIB)
$(BINS):
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(SERVER_LIB) $(WORKER_LIB) $(CORE_LIB)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# Unit tests: each binary is one Check suite; CK_FORK keeps a crash local.
# Check's own 4 s default per test is too tight for a loaded CI machine or a
# sanitizer build; a test that really hangs is still killed.
CK_ENV := CK_DEFAULT_TIMEOUT=60 CK_TIMEOUT_MULTIPLIER=$(if $(strip $(SANITIZE)),3,1)
test: all $(TESTS)
	@fail=0; for t in $(TESTS); do \
	  $(CK_ENV) JT_SRCDIR=$(CURDIR) JT_BUILDDIR=$(CURDIR)/$(BUILD) $$t || fail=1; \
	done; exit $$fail

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
