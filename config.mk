# config.mk - paths and flags (suckless style); override on the make command line.
VERSION = 0.1.0
PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANPREFIX = $(PREFIX)/share/man
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d

PKG_CONFIG ?= pkg-config
PKGS = libcurl libcjson readline ncursesw
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libcurl is not linked: common/curl_lazy.c loads it with dlopen(3) when a
# TLS or HTTP transport first needs it (libcurl4 at run time, its -dev
# package for the headers at build time).
PKG_LIBS := $(shell $(PKG_CONFIG) --libs libcjson readline ncursesw 2>/dev/null || \
	echo -lcjson -lreadline -lncursesw -ltinfo) -ldl

override CPPFLAGS += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DAMI_VERSION=\"$(VERSION)\" -Icommon -Icmd
CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wwrite-strings -Wformat=2 $(PKG_CFLAGS) $(if $(WERROR),-Werror)
override LDLIBS += $(PKG_LIBS)
