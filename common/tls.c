/* tls.c - AMI over TLS (placeholder until the TLS transport lands). */
#include <stdio.h>
#include "transport.h"
#include "util.h"

int tls_open(struct transport **out, const struct profile *p, int64_t deadline,
	     char *err, size_t errlen)
{
	(void)p, (void)deadline;
	*out = NULL;
	snprintf(err, errlen, "TLS transport is not built in yet");
	return RC_CONNECT;
}
