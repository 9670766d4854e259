# vswitch — one hand-written Makefile (STYLE.md, "Build").
#   make            build/vswitchd, build/vsctl, build/vswitch-cni, build/vswitch-proxy
#   make check      include layers, unit tests (Criterion), then the system tests, each also
#                   under ASan/UBSan
#   make bench      the benchmark report (this switch vs the Linux bridge vs Open vSwitch)
#   make demo       the two-node demo: pods, a Service, DSR across the overlay (as root)
#   make image      the DaemonSet's OCI image, without Docker (build/image/vswitch.tar)
#   make demo-k8s   a real Kubernetes 1.20 in namespaces, vswitch deployed with kubectl apply
#   make install    PREFIX (default /usr/local)
#   make fuzz       every libFuzzer target of tests/fuzz/ (clang, ASan/UBSan) into build/fuzz/
#   V=1             full command lines;  SANITIZE=address,undefined  sanitizer build

PREFIX    ?= /usr/local
BUILD     ?= build
CC        ?= cc
PKGS      := libuv libmnl libprotobuf-c sqlite3 jansson libmicrohttpd libcurl yaml-0.1 libbpf
# Only vswitchd programs nftables (its masquerade rules).
NFT_PKG   := libnftables
# The kernel fast path (vswitch/dp/bpf/*.bpf.c) is compiled by clang for the BPF target and
# embedded in the binaries through a bpftool skeleton; BPF_CC must be clang whatever CC is.
BPF_CC    ?= clang
# Debian installs bpftool in /usr/sbin, which a user's PATH may not hold.
BPFTOOL   ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)

WARNINGS  := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wpointer-arith -Wformat-security -Wcast-align -Wno-unused-parameter \
             -Wmissing-field-initializers -Wold-style-definition
CFLAGS    ?= -O2 -g
# The libraries' flags are asked of pkg-config when first used, not while the Makefile is
# read: on a fresh machine the deps-build step installs them first.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)
ALL_CFLAGS = -std=gnu11 $(WARNINGS) $(CFLAGS) -D_GNU_SOURCE -MMD -MP \
             -I. -Ivswitch -I$(BUILD) $(PKG_CFLAGS)
LDLIBS     = $(PKG_LIBS) -lpthread
NFT_LIBS   = $(eval NFT_LIBS := $(shell pkg-config --libs $(NFT_PKG)))$(NFT_LIBS)

ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

PROTO_C   := $(BUILD)/proto/vswitch.pb-c.c
PROTO_H   := $(BUILD)/proto/vswitch.pb-c.h

LIB_SRC    := $(wildcard vswitch/lib/*.c)
DP_SRC     := $(wildcard vswitch/dp/*.c)
DAEMON_SRC := $(wildcard vswitch/daemon/*.c)
CTL_SRC    := $(wildcard vswitch/ctl/*.c)
CNI_SRC    := $(wildcard cni/*.c)
PROXY_SRC  := $(wildcard vswitch/proxy/*.c)
UNIT_SRC   := $(wildcard tests/unit/*.c)
BPF_SRC    := $(wildcard vswitch/dp/bpf/*.bpf.c)
BPF_SKEL   := $(patsubst vswitch/dp/bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_OBJ    := $(call obj,$(LIB_SRC)) $(BUILD)/obj/proto/vswitch.pb-c.o
DP_OBJ     := $(call obj,$(DP_SRC))
DAEMON_MAIN := $(call obj,vswitch/daemon/main.c)
DAEMON_OBJ := $(filter-out $(DAEMON_MAIN),$(call obj,$(DAEMON_SRC)))
CTL_MAIN   := $(call obj,vswitch/ctl/main.c)
CTL_OBJ    := $(filter-out $(CTL_MAIN),$(call obj,$(CTL_SRC)))
CNI_MAIN   := $(call obj,cni/main.c)
CNI_OBJ    := $(filter-out $(CNI_MAIN),$(call obj,$(CNI_SRC)))
PROXY_MAIN := $(call obj,vswitch/proxy/main.c)
PROXY_OBJ  := $(filter-out $(PROXY_MAIN),$(call obj,$(PROXY_SRC)))
UNIT_OBJ   := $(call obj,$(UNIT_SRC))

BINS := $(BUILD)/vswitchd $(BUILD)/vsctl $(BUILD)/vswitch-cni $(BUILD)/vswitch-proxy

.PHONY: all check unit-check system-check bench install clean deps deps-build fuzz
all: $(BINS)

# The build's Debian packages, installed if missing (a fresh machine).  Every compile waits
# for it through the generated header, which every object is ordered after.
deps-build:
	@pkg-config --exists $(PKGS) $(NFT_PKG) && command -v protoc-c >/dev/null \
	    && command -v $(BPF_CC) >/dev/null && command -v $(BPFTOOL) >/dev/null \
	    || bash tests/deps.sh build

# One protoc-c run makes both files (a grouped target: -j2 must not run it twice at once).
$(PROTO_C) $(PROTO_H) &: proto/vswitch.proto | deps-build
	@mkdir -p $(BUILD)/proto
	@echo "  PROTOC  $<"
	$(Q)protoc-c --c_out=$(BUILD) $<

$(BUILD)/obj/proto/vswitch.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

# BPF objects: no libc headers (the BPF target has none), only the kernel's uapi, found in the
# multiarch directory for <asm/...> (asked of clang when first used: deps-build installs it);
# -g for the BTF that maps and the skeleton need.
BPF_ARCH   = $(eval BPF_ARCH := $(shell $(BPF_CC) -print-multiarch))$(BPF_ARCH)
BPF_CFLAGS = -target bpf -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -MMD -MP \
             -I. -Ivswitch -I/usr/include/$(BPF_ARCH)
$(BUILD)/bpf/%.bpf.o: vswitch/dp/bpf/%.bpf.c | deps-build
	@mkdir -p $(dir $@)
	@echo "  BPFCC   $<"
	$(Q)$(BPF_CC) $(BPF_CFLAGS) -c -o $@ $<
# The skeleton embeds the object, so the binaries need no file at run time.
.SECONDARY: $(BPF_SKEL) $(patsubst %.skel.h,%.bpf.o,$(BPF_SKEL))
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# Everything may include the generated headers, so they must exist before any compile.
$(BUILD)/obj/%.o: %.c | $(PROTO_H) $(BPF_SKEL)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libvswitch.a: $(LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libdp.a: $(DP_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
# Each program less its main(), so the unit tests and fuzzers can link its parts.
$(BUILD)/libvswitch-daemon.a: $(DAEMON_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libvsctl.a: $(CTL_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libvswitch-cni.a: $(CNI_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libvswitch-proxy.a: $(PROXY_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/vswitchd: $(DAEMON_MAIN) $(BUILD)/libvswitch-daemon.a $(BUILD)/libdp.a \
                  $(BUILD)/libvswitch.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(NFT_LIBS)

$(BUILD)/vsctl: $(CTL_MAIN) $(BUILD)/libvsctl.a $(BUILD)/libvswitch.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/vswitch-cni: $(CNI_MAIN) $(BUILD)/libvswitch-cni.a $(BUILD)/libvswitch.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/vswitch-proxy: $(PROXY_MAIN) $(BUILD)/libvswitch-proxy.a $(BUILD)/libvswitch.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/libvswitch-daemon.a $(BUILD)/libvsctl.a \
                     $(BUILD)/libvswitch-cni.a $(BUILD)/libvswitch-proxy.a \
                     $(BUILD)/libdp.a $(BUILD)/libvswitch.a
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(NFT_LIBS) -lcriterion

# make fuzz: the libFuzzer targets tests/fuzz/fuzz-*.c, with every product source they may
# use rebuilt by clang with coverage and ASan/UBSan in $(FUZZ_DIR)/obj, and the seed generator.
# tests/fuzz/run.sh runs them (tests/fuzz/README.md).
FUZZ_CC    ?= clang
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_FLAGS  = -std=gnu11 -g -O1 -D_GNU_SOURCE -MMD -MP $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
              -I. -Ivswitch -I$(BUILD) -Itests/unit $(PKG_CFLAGS)
fuzz_obj    = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))
FUZZ_LIB_SRC := $(LIB_SRC) $(DP_SRC) \
                $(filter-out %/main.c,$(DAEMON_SRC) $(CTL_SRC) $(CNI_SRC) $(PROXY_SRC))
FUZZ_LIB_OBJ := $(call fuzz_obj,$(FUZZ_LIB_SRC)) $(FUZZ_DIR)/obj/proto/vswitch.pb-c.o
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_SECONDS ?= 10

$(FUZZ_DIR)/obj/%.o: %.c | $(PROTO_H) $(BPF_SKEL)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<
$(FUZZ_DIR)/obj/proto/vswitch.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<
$(FUZZ_DIR)/libfuzz.a: $(FUZZ_LIB_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
# The unit tests' datapath scene and packet builder, for the targets and the seeds.
FUZZ_TEST_OBJ := $(call fuzz_obj,tests/unit/scene.c tests/unit/pkt-builder.c)
$(FUZZ_DIR)/fuzz-%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz-%.o $(FUZZ_TEST_OBJ) $(FUZZ_DIR)/libfuzz.a
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LDLIBS)
$(FUZZ_DIR)/gen-seeds: $(call fuzz_obj,tests/fuzz/gen-seeds.c) $(FUZZ_TEST_OBJ) \
                       $(FUZZ_DIR)/libfuzz.a
	@echo "  LD      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(LDLIBS)

.SECONDARY: $(call fuzz_obj,$(wildcard tests/fuzz/fuzz-*.c))
fuzz: $(FUZZ_BINS) $(FUZZ_DIR)/gen-seeds

deps:
	@bash tests/deps.sh check

# make check: the include layers first (tests/check-layers.py), then the plain build and the
# sanitizer build in build/san, each running the unit tests and the system tests.  The plain
# build also runs the cluster tests (tests/k8s/run.sh: a Kubernetes 1.20 built once from
# Debian's source package, cached). CHECK_SAN=0 skips the sanitizer pass.
# The plain pass runs the system tests with the kernel fast path (vswitchd's default), the
# sanitizer pass with --offload none, so that every test (LB, overlay, DSR, spoofing, flow-table
# abuse, kill -9...) also proves the user-space path alone; test-offload-* ask for tc
# themselves and run with it in both passes.
CHECK_SAN ?= 1
check: deps
	python3 tests/check-layers.py --self-test
	python3 tests/check-layers.py
	$(MAKE) --no-print-directory all $(BUILD)/unit-tests
	$(BUILD)/unit-tests --jobs 2
	$(MAKE) --no-print-directory fuzz
	bash tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)
	bash tests/system/run.sh $(BUILD)
	bash tests/k8s/build-kube.sh
	bash tests/k8s/run.sh $(BUILD)
ifeq ($(CHECK_SAN),1)
	$(MAKE) --no-print-directory BUILD=build/san SANITIZE=address,undefined \
	    CFLAGS="-O1 -g" all build/san/unit-tests
	ASAN_OPTIONS=detect_leaks=1 build/san/unit-tests --jobs 2
	VSW_OFFLOAD=none bash tests/system/run.sh build/san
endif

bench: all
	@bash tests/deps.sh bench
	bash tests/bench/run.sh $(BUILD)
	bash tests/bench/overlay.sh $(BUILD)
	bash tests/bench/proxy-sync.sh $(BUILD)

# make demo: its packages first (the cnitool build, iperf3, kubectl...), then the binaries, then
# the scene (tests/demo/demo.sh).  DEMO_PAUSE=1 keeps it up to explore until Enter.
.PHONY: demo
demo:
	@bash tests/deps.sh demo
	@$(MAKE) --no-print-directory all
	@bash tests/demo/demo.sh $(BUILD)

# make image: the image examples/k8s/02-daemonset.yaml runs, packed with umoci (no Docker).
.PHONY: image
image: all
	@bash examples/k8s/build-image.sh $(BUILD)

# make demo-k8s: the kube binaries (built from Debian's source package once, cached), then a
# cluster in namespaces with the product deployed from examples/k8s/ (tests/k8s/cluster.sh).
.PHONY: demo-k8s
demo-k8s:
	@bash tests/deps.sh check
	@$(MAKE) --no-print-directory all
	@bash tests/k8s/build-kube.sh
	@bash tests/k8s/cluster.sh demo $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BUILD)/vswitchd $(DESTDIR)$(PREFIX)/sbin/vswitchd
	install -m 0755 $(BUILD)/vsctl $(DESTDIR)$(PREFIX)/bin/vsctl
	install -m 0755 $(BUILD)/vswitch-cni $(DESTDIR)$(PREFIX)/bin/vswitch-cni
	install -m 0755 $(BUILD)/vswitch-proxy $(DESTDIR)$(PREFIX)/sbin/vswitch-proxy
	install -d $(DESTDIR)/opt/cni/bin
	install -m 0755 $(BUILD)/vswitch-cni $(DESTDIR)/opt/cni/bin/vswitch

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/bpf $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
