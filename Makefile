# jouletrace — one non-recursive Makefile, out-of-tree objects under build/.
#   make                  release build into build/
#   make DEVELOPER=1      adds -Werror and stricter warnings
#   make SANITIZE=address,undefined   separate tree build/san-address-undefined/
#   make V=1              show full command lines
#   make test             unit tests (Check); scripts/test.sh runs everything
#   make lint             cppcheck, clang-tidy, banned functions
#   make fuzz             libFuzzer targets (clang) into build/fuzz/; scripts/fuzz.sh runs them

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
# Every third-party library; each binary links only those its layers need.
PKGS    := libmicrohttpd hiredis libsodium jansson libbpf libseccomp libcurl
LAYER_DIRS := lib/core lib/api lib/seal lib/store lib/measure lib/http lib/monitor executor server \
              worker client monitor
CPPFLAGS += -D_GNU_SOURCE $(addprefix -I,$(LAYER_DIRS)) -I$(BUILD)
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -Wall -Wextra -MMD -MP -pthread -fno-strict-aliasing
CFLAGS  += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
libs_of = $(shell pkg-config --libs $(1) 2>/dev/null) -lm -pthread
ifeq ($(DEVELOPER),1)
CFLAGS  += -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wvla -Wundef -Wcast-align -Wwrite-strings \
           -Wold-style-definition
endif
ifneq ($(strip $(SANITIZE)),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

.DEFAULT_GOAL := all

# --- layers: each folder one static library, listed top to bottom -----------
# A layer uses only the layers below it (docs/ARCHITECTURE.md; enforced by
# scripts/check_layers.sh over #include lines and by the link lines here).
obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
lib_srcs = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c))
LIB_CLIENT   := $(BUILD)/libjt-client.a
LIB_MONITORD := $(BUILD)/libjt-monitord.a
LIB_WORKER   := $(BUILD)/libjt-worker.a
LIB_SERVER   := $(BUILD)/libjt-server.a
LIB_EXECUTOR := $(BUILD)/libjt-executor.a
LIB_MONITOR  := $(BUILD)/libjt-monitor.a
LIB_HTTP     := $(BUILD)/libjt-http.a
LIB_MEASURE  := $(BUILD)/libjt-measure.a
LIB_STORE    := $(BUILD)/libjt-store.a
LIB_SEAL     := $(BUILD)/libjt-seal.a
LIB_API      := $(BUILD)/libjt-api.a
LIB_CORE     := $(BUILD)/libjt-core.a
$(LIB_CLIENT):   $(call obj,$(call lib_srcs,client))
$(LIB_MONITORD): $(call obj,$(call lib_srcs,monitor))
$(LIB_WORKER):   $(call obj,$(call lib_srcs,worker))
$(LIB_SERVER):   $(call obj,$(call lib_srcs,server))
$(LIB_EXECUTOR): $(call obj,$(call lib_srcs,executor))
$(LIB_MONITOR):  $(call obj,$(call lib_srcs,lib/monitor))
$(LIB_HTTP):     $(call obj,$(call lib_srcs,lib/http))
$(LIB_MEASURE):  $(call obj,$(call lib_srcs,lib/measure))
$(LIB_STORE):    $(call obj,$(call lib_srcs,lib/store))
$(LIB_SEAL):     $(call obj,$(call lib_srcs,lib/seal))
$(LIB_API):      $(call obj,$(call lib_srcs,lib/api))
$(LIB_CORE):     $(call obj,$(call lib_srcs,lib/core))
ALL_LIBS := $(LIB_CLIENT) $(LIB_MONITORD) $(LIB_WORKER) $(LIB_SERVER) $(LIB_EXECUTOR) \
            $(LIB_MONITOR) $(LIB_HTTP) $(LIB_MEASURE) $(LIB_STORE) $(LIB_SEAL) $(LIB_API) $(LIB_CORE)

TEST_SRCS := $(wildcard tests/unit/test_*.c)
TOOL_SRCS := $(wildcard tools/*.c)
# Each tools/NAME.c is a small command, jouletrace-NAME.
TOOLS := $(patsubst tools/%.c,$(BUILD)/jouletrace-%,$(TOOL_SRCS))
BINS := $(BUILD)/jouletrace-server $(BUILD)/jouletrace-worker \
        $(BUILD)/jouletrace-calibrate $(TOOLS) $(BUILD)/jouletrace $(BUILD)/jouletrace-monitor
TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

all: $(BINS)
.PHONY: all test clean lint
# Test objects are intermediate in a pattern chain; keep them so rebuilds are incremental.
.SECONDARY:

$(BUILD)/%.o: %.c
	$(quiet) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# --- eBPF (libbpf-bootstrap style): vmlinux.h -> NAME.bpf.o -> NAME.skel.h ---
# Own flags on purpose: the BPF object never gets CFLAGS (sanitizers, -MMD...).
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
BPF_ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(BUILD)
$(BUILD)/vmlinux.h:
	$(quiet) GEN $@
	@mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@
# Each program's sources are listed here; the recipe is shared.
$(BUILD)/oncpu.bpf.o: lib/measure/bpf/oncpu.bpf.c lib/measure/bpf/oncpu_bpf.h
$(BUILD)/procacct.bpf.o: lib/monitor/bpf/procacct.bpf.c lib/monitor/bpf/procacct_bpf.h
$(BUILD)/%.bpf.o: $(BUILD)/vmlinux.h
	$(quiet) BPF $@
	$(Q)$(CLANG) $(BPF_CFLAGS) -c -o $@ $(filter %.bpf.c,$^)
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(quiet) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@
$(BUILD)/lib/measure/oncpu.o: $(BUILD)/oncpu.skel.h
$(BUILD)/lib/monitor/procacct.o: $(BUILD)/procacct.skel.h

$(ALL_LIBS):
	$(quiet) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# --- binaries: each links only its layers, and only their libraries ----------
# The server (facing the network) has no executor or measure layer in it, so
# no sandbox, seccomp or BPF code, and does not link libseccomp or libbpf
# (scripts/check_layers.sh checks the built binary).
$(BUILD)/jouletrace-server: $(BUILD)/server/main.o $(LIB_SERVER) $(LIB_HTTP) $(LIB_STORE) \
                            $(LIB_SEAL) $(LIB_API) $(LIB_CORE)
$(BUILD)/jouletrace-server: PKG_LIBS := libmicrohttpd hiredis libsodium jansson
$(BUILD)/jouletrace-worker: $(BUILD)/worker/main.o $(LIB_WORKER) $(LIB_MEASURE) $(LIB_EXECUTOR) \
                            $(LIB_STORE) $(LIB_SEAL) $(LIB_API) $(LIB_CORE)
$(BUILD)/jouletrace-worker: PKG_LIBS := hiredis libsodium jansson libbpf libseccomp
$(BUILD)/jouletrace-calibrate: $(BUILD)/calib/main.o $(LIB_MEASURE) $(LIB_SEAL) $(LIB_CORE)
$(BUILD)/jouletrace-calibrate: PKG_LIBS := libsodium jansson libbpf
$(BUILD)/jouletrace-run: $(BUILD)/tools/run.o $(LIB_MEASURE) $(LIB_EXECUTOR) $(LIB_STORE) \
                         $(LIB_SEAL) $(LIB_API) $(LIB_CORE)
$(BUILD)/jouletrace-run: PKG_LIBS := hiredis libsodium jansson libbpf libseccomp
$(BUILD)/jouletrace-verify: $(BUILD)/tools/verify.o $(LIB_SEAL) $(LIB_CORE)
$(BUILD)/jouletrace-verify: PKG_LIBS := libsodium jansson
# The client: HTTP through libcurl (client/httpc.c only), no server, store or
# measurement code (scripts/check_layers.py checks the binary).
$(BUILD)/jouletrace: $(BUILD)/client/main.o $(LIB_CLIENT) $(LIB_SEAL) $(LIB_API) $(LIB_CORE)
$(BUILD)/jouletrace: PKG_LIBS := libcurl libsodium jansson
# The host monitor: its accounting, the HTTP adapter (/metrics), Redis (seals),
# the meters, seals; no executor, server or worker code (check_layers.py).
$(BUILD)/jouletrace-monitor: $(BUILD)/monitor/main.o $(LIB_MONITORD) $(LIB_MONITOR) $(LIB_HTTP) \
                             $(LIB_STORE) $(LIB_MEASURE) $(LIB_SEAL) $(LIB_API) $(LIB_CORE)
$(BUILD)/jouletrace-monitor: PKG_LIBS := libbpf libmicrohttpd hiredis libsodium jansson
$(BINS):
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(call libs_of,$(PKG_LIBS))

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(ALL_LIBS)
	$(quiet) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(call libs_of,$(PKGS))

# Unit tests: each binary is one Check suite; CK_FORK keeps a crash local.
# Check's own 4 s default per test is too tight for a loaded CI machine or a
# sanitizer build; a test that really hangs is still killed.
CK_ENV := CK_DEFAULT_TIMEOUT=60 CK_TIMEOUT_MULTIPLIER=$(if $(strip $(SANITIZE)),3,1)
# Each suite's output is kept in build/test-logs/; a failure is named again at
# the end with its assertion lines, so a CI log's tail says which test failed.
test: all $(TESTS)
	@mkdir -p $(BUILD)/test-logs; failed=; for t in $(TESTS); do \
	  log=$(BUILD)/test-logs/$${t##*/}.log; \
	  $(CK_ENV) JT_SRCDIR=$(CURDIR) JT_BUILDDIR=$(CURDIR)/$(BUILD) $$t >$$log 2>&1; \
	  rc=$$?; cat $$log; [ $$rc -eq 0 ] || failed="$$failed $${t##*/}"; \
	done; [ -z "$$failed" ] && exit 0; echo "FAILED suites:$$failed"; \
	for n in $$failed; do grep -E ':[EF]:|^[0-9]+%' $(BUILD)/test-logs/$$n.log || \
	  tail -5 $(BUILD)/test-logs/$$n.log; done; exit 1

# cppcheck, clang-tidy and a banned-function grep (scripts/lint.sh; a CI step).
lint: all
	scripts/lint.sh

# --- libFuzzer targets (fuzz/fuzz_*.c): clang only, a tree of their own -----
# The layers they reach are rebuilt with coverage and ASan+UBSan into one
# archive (a target links only the members it needs); `make all` never needs
# clang's fuzzer runtime.  scripts/fuzz.sh runs them.
FUZZ_BUILD  := build/fuzz
FUZZ_CFLAGS := -O1 -g -std=c17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
               -pthread -fno-strict-aliasing \
               -fno-omit-frame-pointer -fno-sanitize-recover=all \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_SAN    := -fsanitize=address,undefined
FUZZ_CPPFLAGS := -D_GNU_SOURCE $(addprefix -I,$(LAYER_DIRS))
FUZZ_SRCS   := $(foreach d,lib/core lib/api lib/seal lib/store lib/http server executor,$(call lib_srcs,$(d))) \
               lib/measure/candidate.c
FUZZ_LIB    := $(FUZZ_BUILD)/libjt-fuzz.a
FUZZ_BINS   := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard fuzz/fuzz_*.c))
$(FUZZ_BUILD)/%.o: %.c
	$(quiet) FUZZCC $@
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -MMD -MP \
		-c -o $@ $<
$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(FUZZ_SRCS))
	$(quiet) AR $@
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(quiet) LD $@
	$(Q)$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(call libs_of,$(PKGS))
fuzz: $(FUZZ_BINS)
.PHONY: fuzz

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
