/* curl_lazy.c - libcurl, loaded the first time a TLS or HTTP transport
 * needs it.
 *
 * Linked normally, libcurl drags about 35 shared libraries (OpenSSL,
 * GnuTLS, Kerberos, LDAP, ...) into every start of ami: several
 * milliseconds and ~8 MiB of resident memory that a TCP event stream
 * running for days never uses. So ami is not linked with libcurl; the few
 * libcurl functions the transports call are defined here and forward to
 * the library through dlopen(3). The header stays the real <curl/curl.h>,
 * so the prototypes are checked against it. */
#define CURL_DISABLE_TYPECHECK      /* we define the functions it wraps */
#include <curl/curl.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>

#define LIBCURL_SONAME "libcurl.so.4"

static struct {
	void *lib;
	int tried;
	char error[256];
	CURLcode (*global_init)(long);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_send)(CURL *, const void *, size_t, size_t *);
	CURLcode (*easy_recv)(CURL *, void *, size_t, size_t *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	char *(*version)(void);
} lc;

/* Looks up one symbol; a missing one makes the whole library unusable. */
static void *sym(const char *name, int *ok)
{
	void *p = dlsym(lc.lib, name);
	if (!p && *ok) {
		snprintf(lc.error, sizeof lc.error, "%s has no %s", LIBCURL_SONAME, name);
		*ok = 0;
	}
	return p;
}

static int load(void)
{
	int ok = 1;

	if (lc.tried)
		return lc.lib != NULL;
	lc.tried = 1;
	if (!(lc.lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL))) {
		snprintf(lc.error, sizeof lc.error, "cannot load %s: %s", LIBCURL_SONAME, dlerror());
		return 0;
	}
	*(void **)&lc.global_init = sym("curl_global_init", &ok);
	*(void **)&lc.global_cleanup = sym("curl_global_cleanup", &ok);
	*(void **)&lc.easy_init = sym("curl_easy_init", &ok);
	*(void **)&lc.easy_cleanup = sym("curl_easy_cleanup", &ok);
	*(void **)&lc.easy_setopt = sym("curl_easy_setopt", &ok);
	*(void **)&lc.easy_getinfo = sym("curl_easy_getinfo", &ok);
	*(void **)&lc.easy_perform = sym("curl_easy_perform", &ok);
	*(void **)&lc.easy_send = sym("curl_easy_send", &ok);
	*(void **)&lc.easy_recv = sym("curl_easy_recv", &ok);
	*(void **)&lc.easy_strerror = sym("curl_easy_strerror", &ok);
	*(void **)&lc.slist_append = sym("curl_slist_append", &ok);
	*(void **)&lc.slist_free_all = sym("curl_slist_free_all", &ok);
	*(void **)&lc.version = sym("curl_version", &ok);
	if (!ok) {
		dlclose(lc.lib);
		lc.lib = NULL;
	}
	return ok;
}

CURLcode curl_global_init(long flags)
{
	return load() ? lc.global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
	if (lc.lib)
		lc.global_cleanup();
}

CURL *curl_easy_init(void) { return load() ? lc.easy_init() : NULL; }
void curl_easy_cleanup(CURL *c) { if (lc.lib) lc.easy_cleanup(c); }
CURLcode curl_easy_perform(CURL *c) { return lc.easy_perform(c); }

CURLcode curl_easy_send(CURL *c, const void *buf, size_t len, size_t *n)
{
	return lc.easy_send(c, buf, len, n);
}

CURLcode curl_easy_recv(CURL *c, void *buf, size_t len, size_t *n)
{
	return lc.easy_recv(c, buf, len, n);
}

/* The option number says which type its one argument has (curl.h's
 * CURLOPTTYPE_* ranges), so the variadic call can be forwarded. */
CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = lc.easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = lc.easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = lc.easy_setopt(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = lc.easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		rc = lc.easy_setopt(c, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every curl_easy_getinfo takes one pointer to where the result goes. */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	va_start(ap, info);
	rc = lc.easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

const char *curl_easy_strerror(CURLcode code)
{
	if (!load())
		return lc.error;
	return lc.easy_strerror(code);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return load() ? lc.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (lc.lib)
		lc.slist_free_all(l);
}

char *curl_version(void)
{
	return load() ? lc.version() : lc.error;
}
