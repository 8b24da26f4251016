/*
 * readywait: starts a Type=notify service the way systemd would, for the benchmarks.
 *
 *     readywait [--live N] [--timeout S] [--ready-only] -- COMMAND [ARGS...]
 *
 * Optionally forks N idle processes first (they pause() until readywait ends),
 * binds a datagram socket, runs COMMAND with NOTIFY_SOCKET pointing at it and
 * times fork -> the first datagram holding READY=1 (CLOCK_MONOTONIC). Prints
 *
 *     {"event":"ready","pid":P,"ready_ms":T,"live":N}
 *
 * on stdout (flushed) as soon as READY=1 arrives, then waits for COMMAND,
 * forwarding SIGINT/SIGTERM to it, and prints
 *
 *     {"event":"exit","pid":P,"status":S,"signal":G,"stop_ms":T}
 *
 * where stop_ms is from the first forwarded signal to the exit. With
 * --ready-only it sends SIGTERM itself right after READY=1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t pending_signal;
static void on_signal(int sig) { pending_signal = sig; }

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	long live = 0;
	double timeout_s = 30;
	int ready_only = 0;
	static const struct option opts[] = {
		{"live", required_argument, NULL, 'l'},
		{"timeout", required_argument, NULL, 't'},
		{"ready-only", no_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "+l:t:r", opts, NULL)) != -1) {
		switch (o) {
		case 'l': live = strtol(optarg, NULL, 10); break;
		case 't': timeout_s = strtod(optarg, NULL); break;
		case 'r': ready_only = 1; break;
		default:
			fprintf(stderr, "usage: readywait [--live N] [--timeout S] [--ready-only] -- COMMAND [ARGS...]\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: readywait [--live N] [--timeout S] [--ready-only] -- COMMAND [ARGS...]\n");
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* Idle processes the service finds at start (it may scan /proc). */
	pid_t self = getpid();
	pid_t *idle = calloc((size_t)(live > 0 ? live : 1), sizeof *idle);
	for (long i = 0; i < live; i++) {
		pid_t p = fork();
		if (p < 0) {
			perror("readywait: fork");
			return 1;
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(0);
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			for (;;)
				pause();
		}
		idle[i] = p;
	}

	int ns = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	/* Abstract address: nothing to clean up; sd_notify() accepts '@'. */
	int alen = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "execmond-bench-notify-%d", (int)self);
	if (bind(ns, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + alen)) != 0) {
		perror("readywait: bind");
		return 1;
	}
	char env[128];
	snprintf(env, sizeof env, "@%s", addr.sun_path + 1);
	setenv("NOTIFY_SOCKET", env, 1);

	double t0 = mono_ms();
	pid_t child = fork();
	if (child < 0) {
		perror("readywait: fork");
		return 1;
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "readywait: exec %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}

	int ready = 0, status = 0, exited = 0;
	double stop_at = 0;
	while (!exited) {
		if (pending_signal) {
			if (stop_at == 0)
				stop_at = mono_ms();
			kill(child, pending_signal);
			pending_signal = 0;
		}
		if (!ready && mono_ms() - t0 > timeout_s * 1e3) {
			fprintf(stderr, "readywait: no READY=1 after %.1f s, sending SIGTERM\n", timeout_s);
			printf("{\"event\":\"timeout\",\"pid\":%d}\n", (int)child);
			fflush(stdout);
			stop_at = mono_ms();
			kill(child, SIGTERM);
			ready = -1;
		}
		struct pollfd pfd = {.fd = ns, .events = POLLIN};
		int pr = poll(&pfd, 1, stop_at > 0 ? 1 : 20);
		if (pr > 0) {
			char msg[4096];
			ssize_t n = recv(ns, msg, sizeof msg - 1, 0);
			if (n > 0) {
				msg[n] = '\0';
				double t = mono_ms();
				/* sd_notify sends newline-separated assignments. */
				for (char *line = strtok(msg, "\n"); line; line = strtok(NULL, "\n")) {
					if (!ready && strcmp(line, "READY=1") == 0) {
						ready = 1;
						printf("{\"event\":\"ready\",\"pid\":%d,\"ready_ms\":%.3f,\"live\":%ld}\n",
						       (int)child, t - t0, live);
						fflush(stdout);
						if (ready_only) {
							stop_at = mono_ms();
							kill(child, SIGTERM);
						}
					}
				}
			}
		}
		pid_t w = waitpid(child, &status, WNOHANG);
		if (w == child)
			exited = 1;
	}
	double t_end = mono_ms();
	printf("{\"event\":\"exit\",\"pid\":%d,\"ready\":%s,\"status\":%d,\"signal\":%d,\"stop_ms\":%.3f}\n", (int)child,
	       ready == 1 ? "true" : "false", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	       WIFSIGNALED(status) ? WTERMSIG(status) : 0, stop_at > 0 ? t_end - stop_at : -1.0);
	fflush(stdout);
	/* Kill and reap the idle processes here: orphans would linger as zombies until
	 * pid 1 reaps them, and the next measurement would find them. */
	for (long i = 0; i < live; i++)
		kill(idle[i], SIGKILL);
	for (long i = 0; i < live; i++)
		while (waitpid(idle[i], NULL, 0) < 0 && errno == EINTR)
			;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
