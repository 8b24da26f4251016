/*
 * storm: an exec storm for the protocol tests.
 *
 *     storm TARGET TOKEN COUNT [SPAWNERS]
 *
 * SPAWNERS processes (default 2) posix_spawn() TARGET and wait for it until
 * they have run COUNT execs together; exec <seq> has argv
 * "TARGET TOKEN-<seq>", so a client can count which ones it saw. Prints the
 * seconds taken; exits non-zero if any spawn failed.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int spawner(const char *target, const char *token, long first, long count, long step)
{
	char arg[256];
	char *argv[] = {(char *)target, arg, NULL};
	for (long seq = first; seq < count; seq += step) {
		snprintf(arg, sizeof(arg), "%s-%ld", token, seq);
		pid_t pid;
		int status;
		if (posix_spawn(&pid, target, NULL, NULL, argv, environ) != 0)
			return 1;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: storm TARGET TOKEN COUNT [SPAWNERS]\n");
		return 2;
	}
	long count = atol(argv[3]);
	long spawners = argc == 5 ? atol(argv[4]) : 2;
	if (count < 0 || spawners < 1) {
		fprintf(stderr, "storm: bad COUNT or SPAWNERS\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < spawners; ++i) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(spawner(argv[1], argv[2], i, count, spawners));
	}
	int failed = 0, status;
	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.3f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return failed;
}
