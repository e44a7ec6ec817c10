/* maxrss.c - runs a command and reports its peak resident set size.
 *
 *   maxrss FILE CMD [ARGS...]
 *
 * Writes the peak RSS of CMD in KiB to FILE and exits with CMD's status.
 * bench.py needs it because ru_maxrss also counts the memory a child had
 * before exec (a copy of its parent's, when forked from Python); forked
 * from this small program, CMD's own figure is what gets measured.
 *
 * Build: cc -O2 -o maxrss maxrss.c */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: maxrss FILE CMD [ARGS...]\n");
		return 2;
	}
	if ((pid = fork()) < 0) {
		perror("maxrss: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("maxrss: exec");
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("maxrss: wait4");
		return 1;
	}
	if ((f = fopen(argv[1], "w"))) {
		fprintf(f, "%ld\n", ru.ru_maxrss);
		fclose(f);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
