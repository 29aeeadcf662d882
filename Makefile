# homemx - build, run, test.
#
#   make            build everything into build/
#   make run        install missing Debian packages, build, start the demo
#   make check      install missing Debian packages, build (normal + ASan/UBSan),
#                   run unit, end-to-end and short fuzz tests; prints
#                   "N passed, N failed, K skipped" and fails on any failure
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60)
#
# Each role is one binary built from its own folder; main.c in a folder holds
# only main(), so unit tests can link the rest of the folder.

O	?= build
SAN	?= 0
CC	?= cc
ifeq ($(CC),cc)
CC	:= gcc
endif

CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	-Wno-missing-field-initializers -fstack-protector-strong -fPIE -g \
	-Ilib -D_GNU_SOURCE
ifeq ($(SAN),1)
CFLAGS	?= -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN	:= -fsanitize=address,undefined
else
CFLAGS	?= -O2 -D_FORTIFY_SOURCE=2
LDSAN	:=
endif
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDSAN)
LDLIBS	:= -levent_openssl -levent -lssl -lcrypto -ldb-5.3 -lsodium -lidn2 \
	-lopendkim -lcares -lresolv -lpsl -lseccomp

# Every role, one word each: homemxd refuses to start if one is missing.
ROLE_DIRS := smtpd lookup queue delivery dkimsign relay submission screen
LIB_SRCS  := $(filter-out %_test.c,$(wildcard lib/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(O)/obj/%.o)

dir_srcs = $(filter-out %_test.c,$(wildcard $(1)/*.c))
dir_objs = $(patsubst %.c,$(O)/obj/%.o,$(call dir_srcs,$(1)))
dir_objs_nomain = $(filter-out $(O)/obj/$(1)/main.o,$(call dir_objs,$(1)))

BINS := $(O)/homemxd $(O)/mxctl $(ROLE_DIRS:%=$(O)/homemx-%)

# Test tools the e2e tests run (tests/tools/NAME.c + the objects it names).
TOOLS := $(O)/tests/tools/screen_dnsprobe $(O)/tests/tools/scanprobe
TOOL_OBJS_screen_dnsprobe := $(O)/obj/screen/resolver.o $(O)/obj/screen/dnscache.o
TOOL_OBJS_scanprobe := $(patsubst %,$(O)/obj/screen/%.o,scanner scan_rspamd scan_spamd \
	scan_clamd scan_text score)

UNIT_SRCS := $(wildcard lib/*_test.c) $(foreach d,$(ROLE_DIRS) supervisor admin,$(wildcard $(d)/*_test.c))
UNIT_BINS := $(patsubst %.c,$(O)/tests/%,$(UNIT_SRCS))

.PHONY: all run check check-unit check-asan fuzz clean deps lint
all: $(BINS) $(TOOLS)

$(O)/obj/%.o: %.c $(wildcard lib/*.h) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/libhmx.a: $(LIB_OBJS)
	ar rcs $@ $^

$(O)/homemxd: $(call dir_objs,supervisor) $(O)/libhmx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# mxctl reads the screen's memory (why) and runs its checks (screen test).
MXCTL_SCREEN_OBJS = $(filter-out $(O)/obj/screen/screen.o,$(call dir_objs_nomain,screen))
$(O)/mxctl: $(call dir_objs,admin) $(MXCTL_SCREEN_OBJS) $(O)/libhmx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

define TOOL_template
$(O)/tests/tools/$(1): $(O)/obj/tests/tools/$(1).o $$(TOOL_OBJS_$(1)) $(O)/libhmx.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOLS:$(O)/tests/tools/%=%),$(eval $(call TOOL_template,$(t))))


# The session engine lives in smtpd/; port 25's own files are main, smtpd
# (the role) and inbound (its policy). submission/ is the other policy and
# links the engine, never port 25's files; port 25 never links submission/.
PORT25_ONLY := $(patsubst %,$(O)/obj/smtpd/%.o,main smtpd inbound)
ENGINE_OBJS = $(filter-out $(PORT25_ONLY),$(call dir_objs,smtpd))
ROLE_EXTRA_OBJS_submission = $(ENGINE_OBJS)
UNIT_EXTRA_OBJS_submission = $(ENGINE_OBJS)

define ROLE_template
$(O)/homemx-$(1): $(call dir_objs,$(1)) $$(ROLE_EXTRA_OBJS_$(1)) $(O)/libhmx.a
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(ROLE_DIRS),$(eval $(call ROLE_template,$(d))))

# Unit tests: X/foo_test.c links with every object of X except main.o.
# admin/ links part of screen/ (mxctl why and screen test).
UNIT_EXTRA_OBJS_admin = $(MXCTL_SCREEN_OBJS)
define UNIT_template
$(O)/tests/$(1): $(1).c $(call dir_objs_nomain,$(patsubst %/,%,$(dir $(1)))) $$(UNIT_EXTRA_OBJS_$(patsubst %/,%,$(dir $(1)))) $(O)/libhmx.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) -lcmocka
endef
$(foreach t,$(UNIT_SRCS:%.c=%),$(eval $(call UNIT_template,$(t))))

# The RFC 7208 suite driver (tests/tools/spf_suite.py feeds it the suite).
TOOL_BINS := $(O)/tests/tools/spf_suite
$(O)/tests/tools/spf_suite: tests/tools/spf_suite.c $(call dir_objs_nomain,screen) $(O)/libhmx.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iscreen $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit-bins: $(UNIT_BINS) $(TOOL_BINS)

deps:
	@scripts/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-demo $(O)

check: deps
	@$(MAKE) --no-print-directory all unit-bins
	@$(MAKE) --no-print-directory O=build-asan SAN=1 all unit-bins
	@scripts/run-tests

fuzz: deps
	@scripts/run-fuzz $${FUZZ_SECONDS:-60}

lint:
	@scripts/lint

clean:
	rm -rf build build-asan build-fuzz
