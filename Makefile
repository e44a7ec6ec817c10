# Makefile - build, test, install `ami`. Settings live in config.mk.
include config.mk
SHELL = /bin/bash

SRC = $(wildcard cmd/*.c cmd/parts/*.c common/*.c)
OBJ = $(SRC:.c=.o)
UNIT_TESTS = $(patsubst %.c,%,$(wildcard tests/unit/*_test.c))
MANPAGES = $(wildcard man/*.1 man/*.5)
DEBIAN_PKGS = build-essential pkg-config libcurl4-openssl-dev libcjson-dev libreadline-dev \
	libncurses-dev bats bats-assert bats-support python3 openssl mandoc tmux

.PHONY: all check unit bats demo asan valgrind valgrind-ci fuzz bench bench-fanout bench-top lint install uninstall clean deps deb

all: ami

ami: $(OBJ)
	$(CC) $(LDFLAGS) -o $@ $(OBJ) $(LDLIBS)

# A header change rebuilds only what includes it: the compiler writes the
# headers each file used into a .d file next to its output (-MMD), with an
# empty rule per header so that a deleted one breaks nothing (-MP).
override CPPFLAGS += -MMD -MP
DEPS = $(OBJ:.o=.d) $(UNIT_TESTS:=.d) bench/out/msg_bench.d bench/out/state_bench.d
-include $(DEPS)

# The flags changed: everything again (and so every .d file is made).
$(OBJ): config.mk Makefile

# Unit tests link the common/ objects they need (all of them: simple, fast).
COMMON_OBJ = $(patsubst %.c,%.o,$(wildcard common/*.c))
tests/unit/%_test: tests/unit/%_test.c $(COMMON_OBJ)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(COMMON_OBJ) $(LDFLAGS) $(LDLIBS)

# Installs what the build and the tests need on Debian, when missing.
deps:
	@missing=$$(for p in $(DEBIAN_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do echo "# $$t"; ./$$t || exit 1; done

# Runs the unit tests and the bats suites; the last line is "N passed, N failed".
check: deps
	@$(MAKE) --no-print-directory ami $(UNIT_TESTS)
	@tests/run-tests.sh $(UNIT_TESTS)

demo: deps
	@$(MAKE) --no-print-directory ami
	@tests/demo.sh

# Streams events from bench/evsrc.c (a fast fake AMI server) through
# `ami tail-events` in each format; prints events/s and peak RSS. Then the
# same stream recorded and served by `ami serve`, to 1 and 4 clients; the
# bytes and CPU time tail-events' server filters save (bench/filter_bench.py).
bench: ami bench/out/evsrc bench/out/maxrss bench/out/msg_bench bench/out/state_bench
	bench/out/msg_bench
	bench/out/state_bench
	python3 bench/bench.py
	python3 bench/serve_bench.py
	python3 bench/filter_bench.py
	python3 bench/calls_bench.py

# ping and tail-events over many profiles at once (issue 14's figures).
bench-fanout: ami bench/out/evsrc
	python3 bench/fanout_bench.py

# ami top on a busy PBX (2,000 channels, 1,000 events/s; about 2.5 minutes):
# the snapshot's time, the panel's CPU, redraws and RSS, against tail-events.
bench-top: ami bench/out/evsrc
	python3 bench/top_bench.py

# The parser alone, on bench/corpus.txt; the state model on a busy PBX.
bench/out/msg_bench bench/out/state_bench: bench/out/%: bench/%.c $(COMMON_OBJ)
	@mkdir -p bench/out
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(COMMON_OBJ) $(LDFLAGS) $(LDLIBS)

bench/out/evsrc bench/out/maxrss: bench/out/%: bench/%.c
	@mkdir -p bench/out
	$(CC) -O2 -Wall -Wextra -std=c11 -o $@ $<

asan:
	$(MAKE) clean
	$(MAKE) check CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined"
	$(MAKE) clean

lint:
	mandoc -Tlint -W warning $(MANPAGES)

# libFuzzer targets (clang): each runs FUZZ_SECONDS; new inputs go to a
# scratch directory so the seed corpora in tests/fuzz/corpus/ stay small.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# (the transports are left out; recording.c and json.c need cJSON: PKG_LIBS.)
FUZZ_SRC = $(filter-out common/http.c common/tls.c common/ami.c common/net.c,$(wildcard common/*.c))
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Icommon \
	$(PKG_CFLAGS)
# common/ is compiled once for all the targets (16 s each when every target
# compiled it again).
FUZZ_OBJ = $(patsubst common/%.c,tests/fuzz/out/obj/%.o,$(FUZZ_SRC))
tests/fuzz/out/obj/%.o: common/%.c $(wildcard common/*.h)
	@mkdir -p tests/fuzz/out/obj
	clang $(FUZZ_CFLAGS) -c -o $@ $<
tests/fuzz/out/libcommon.a: $(FUZZ_OBJ)
	ar rcs $@ $^
fuzz: tests/fuzz/out/libcommon.a
	@for t in $(FUZZ_TARGETS); do \
		clang $(FUZZ_CFLAGS) -o tests/fuzz/out/$$t tests/fuzz/$$t.c tests/fuzz/out/libcommon.a \
			$(PKG_LIBS) || exit 1; \
		mkdir -p tests/fuzz/out/$$t.new tests/fuzz/corpus/$${t#fuzz_}; \
		echo "# $$t for $(FUZZ_SECONDS) s"; \
		tests/fuzz/out/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			tests/fuzz/out/$$t.new tests/fuzz/corpus/$${t#fuzz_} 2>&1 | \
			grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' ; \
		[ $${PIPESTATUS[0]:-0} -eq 0 ] || exit 1; \
	done

# The bats suites with every ami process under valgrind memcheck: all of
# them, or VALGRIND_SUITES (CI's: those that feed ami hostile and odd input).
VALGRIND_SUITES ?= $(wildcard tests/*.bats)
VALGRIND_CI_SUITES = tests/hostile.bats tests/injection.bats tests/tail-events.bats \
	tests/action.bats tests/command.bats tests/ping.bats tests/cli.bats tests/config.bats
valgrind: ami
	AMI_VALGRIND=1 BATS_JOBS=$(BATS_JOBS) BATS_FILES="$(VALGRIND_SUITES)" tests/run-tests.sh
valgrind-ci: ami
	$(MAKE) valgrind VALGRIND_SUITES="$(VALGRIND_CI_SUITES)"

install: ami
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(MANPREFIX)/man5 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	cp -f ami $(DESTDIR)$(BINDIR)/ami
	chmod 755 $(DESTDIR)$(BINDIR)/ami
	cd $(DESTDIR)$(BINDIR) && for c in $$(./ami --list); do ln -sf ami ami-$$c; done
	cp -f man/*.1 $(DESTDIR)$(MANPREFIX)/man1/
	cp -f man/*.5 $(DESTDIR)$(MANPREFIX)/man5/
	cp -f completions/ami.bash $(DESTDIR)$(BASHCOMPDIR)/ami
	cp -f completions/_ami $(DESTDIR)$(ZSHCOMPDIR)/_ami
	cp -f completions/ami.fish $(DESTDIR)$(FISHCOMPDIR)/ami.fish
	# bash-completion and fish load completions by program name: one per link.
	for c in $$(./ami --list); do \
		ln -sf ami $(DESTDIR)$(BASHCOMPDIR)/ami-$$c; \
		echo "complete -c ami-$$c -w 'ami $$c'" > $(DESTDIR)$(FISHCOMPDIR)/ami-$$c.fish; \
	done

# The Debian package (debian/), built by dpkg-buildpackage in a scratch copy
# of the tree, so that this one stays as it is; the .deb, .changes and
# .buildinfo land in $(DEB_OUT)/. DEB_BUILD_OPTIONS passes through
# (nocheck skips the unit tests).
DEB_OUT = build-deb
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "make deb needs dpkg-dev and debhelper (apt-get install dpkg-dev debhelper)" >&2; exit 1; }
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	mkdir "$$scratch/ami-$(VERSION)" && \
	tar -cf - --exclude-vcs --exclude=./$(DEB_OUT) . | tar -C "$$scratch/ami-$(VERSION)" -xf - && \
	(cd "$$scratch/ami-$(VERSION)" && dpkg-buildpackage -b -us -uc -Jauto) && \
	mkdir -p $(DEB_OUT) && rm -f $(DEB_OUT)/ami[_-]* && \
	cp "$$scratch"/*.deb "$$scratch"/*.changes "$$scratch"/*.buildinfo $(DEB_OUT)/ && \
	ls -l $(DEB_OUT)

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f ami ami-*
	cd $(DESTDIR)$(MANPREFIX)/man1 && rm -f $(notdir $(wildcard man/*.1))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/ami-* $(DESTDIR)$(FISHCOMPDIR)/ami-*.fish
	rm -f $(DESTDIR)$(MANPREFIX)/man5/ami.conf.5 $(DESTDIR)$(BASHCOMPDIR)/ami \
		$(DESTDIR)$(ZSHCOMPDIR)/_ami $(DESTDIR)$(FISHCOMPDIR)/ami.fish

clean:
	rm -f ami $(OBJ) $(UNIT_TESTS) tests/unit/*.o $(DEPS)
	rm -rf tests/fuzz/out bench/out
