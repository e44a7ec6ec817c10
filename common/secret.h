/* secret.h - where a secret is read from: a private file, the first line
 * of stdin, or a no-echo prompt on the terminal; and the privacy check
 * for any file that holds one. Every buffer that held a secret is wiped;
 * a secret is freed with secret_free() (util.h). */
#ifndef AMI_SECRET_H
#define AMI_SECRET_H

#define SECRET_MAX 4096                 /* longer "secrets" are a mistake */

/* Refuses (RC_CONFIG, message printed) a file that is not a regular file
 * owned by us with no group/other permissions. kind and path name it in
 * the message ("secret file /x"), why is added after its mode (may be ""). */
int secret_check_private(int fd, const char *kind, const char *path, const char *why);

/* Each returns RC_OK with a malloc'd *secret, RC_CONFIG (message printed)
 * or RC_INTERRUPTED. */
/* The first line of a private file. */
int secret_read_file(const char *path, char **secret);
/* The first line of stdin, read a byte at a time: what follows stays. */
int secret_read_stdin(char **secret);
/* "Secret for USER@HOST: " on /dev/tty with echo off; -1 when there is no
 * terminal to ask on. Ctrl-Z stops us with the echo restored and asks
 * again after `fg`; other signals end the prompt (and are passed on). */
int secret_prompt(const char *user, const char *host, char **secret);

#endif
