/*
 * tap: a measuring execmond client for the benchmarks.
 *
 * Connects to execmond's Unix socket, reads the JSON lines and, for the execs
 * of one storm run (argv "noop execmond-bench-<run>-<seq> <boottime_ns>"):
 *   - counts the unique <seq> it saw and the execs the stream says were lost;
 *   - times each exec line at the client: CLOCK_BOOTTIME when the read() that
 *     carried the line returned, minus the spawner's argv stamp (exec->line)
 *     and minus the line's ktime_ns (kernel event->line);
 *   - checks that every token exec had its fork before it and its exit after it
 *     (per-pid state, so pid reuse over a long churn is fine).
 * It does not parse JSON in general: it looks for the few keys it needs in the
 * single-line objects execmond writes.
 *
 * Exits on SIGINT/SIGTERM, on EOF, or by itself once seen + lost execs reach
 * --count and the stream has been quiet for --quiet-ms; then prints one JSON
 * object of counts and latency percentiles (ns) on stdout.
 *
 * While running, touches --ready FILE the first time it sees an exec whose
 * argv holds "execmond-bench-<run>-ready": the runner spawns such execs until
 * then, which proves the whole path (probe -> daemon -> this client) is live.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum pid_state { P_NONE = 0, P_FORKED = 1, P_EXECED = 2, P_EXECED_NOFORK = 3 };

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int64_t boottime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The unsigned integer after `key` (e.g. "\"pid\":") in [p, end), or -1. */
static int64_t num_after(const char *p, const char *end, const char *key)
{
	const char *k = memmem(p, (size_t)(end - p), key, strlen(key));
	if (!k)
		return -1;
	k += strlen(key);
	while (k < end && *k == ' ')
		k++;
	if (k >= end || *k < '0' || *k > '9')
		return -1;
	int64_t v = 0;
	while (k < end && *k >= '0' && *k <= '9')
		v = v * 10 + (*k++ - '0');
	return v;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void print_dist(const char *name, int64_t *v, size_t n)
{
	if (n == 0) {
		printf("\"%s\":null", name);
		return;
	}
	qsort(v, n, sizeof *v, cmp_i64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
#define PCT(p) v[(size_t)((double)(n - 1) * (p) + 0.5)]
	printf("\"%s\":{\"n\":%zu,\"min\":%" PRId64 ",\"p50\":%" PRId64 ",\"p90\":%" PRId64 ",\"p99\":%" PRId64
	       ",\"p999\":%" PRId64 ",\"max\":%" PRId64 ",\"mean\":%.0f}",
	       name, n, v[0], PCT(0.50), PCT(0.90), PCT(0.99), PCT(0.999), v[n - 1], sum / (double)n);
#undef PCT
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *run = NULL, *ready = NULL;
	uint64_t count = 0;
	int quiet_ms = 300;
	double connect_timeout = 10;

	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"run", required_argument, NULL, 'r'},
		{"count", required_argument, NULL, 'n'},  {"ready", required_argument, NULL, 'R'},
		{"quiet-ms", required_argument, NULL, 'q'}, {"connect-timeout", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "s:r:n:R:q:t:", opts, NULL)) != -1) {
		switch (o) {
		case 's': sock = optarg; break;
		case 'r': run = optarg; break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'R': ready = optarg; break;
		case 'q': quiet_ms = atoi(optarg); break;
		case 't': connect_timeout = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: tap --socket PATH --run ID --count N [--ready FILE] [--quiet-ms MS]\n");
			return 2;
		}
	}
	if (!sock || !run || count == 0) {
		fprintf(stderr, "usage: tap --socket PATH --run ID --count N [--ready FILE] [--quiet-ms MS]\n");
		return 2;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int fd = -1;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock);
	int64_t give_up = mono_ms() + (int64_t)(connect_timeout * 1000);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
			break;
		close(fd);
		if (mono_ms() > give_up || stop) {
			fprintf(stderr, "tap: connect %s: %s\n", sock, strerror(errno));
			return 1;
		}
		usleep(10000);
	}

	char prefix[96];
	int plen = snprintf(prefix, sizeof prefix, "\"execmond-bench-%s-", run);

	long pid_max = 4194304;
	FILE *pm = fopen("/proc/sys/kernel/pid_max", "r");
	if (pm) {
		if (fscanf(pm, "%ld", &pid_max) != 1)
			pid_max = 4194304;
		fclose(pm);
	}
	uint8_t *state = calloc((size_t)pid_max + 1, 1);
	uint8_t *seen = calloc(count, 1);
	int64_t *lat_argv = calloc(count, sizeof(int64_t));
	int64_t *lat_kernel = calloc(count, sizeof(int64_t));
	size_t nlat = 0;
	if (!state || !seen || !lat_argv || !lat_kernel) {
		fprintf(stderr, "tap: out of memory\n");
		return 1;
	}

	uint64_t lines = 0, bytes = 0, hello = 0, forks = 0, execs = 0, exits = 0, lost_lines = 0;
	uint64_t lost_total = 0, lost_exec = 0, lost_exec_known = 1;
	uint64_t tok_unique = 0, tok_dup = 0, tok_fork_ok = 0, tok_exit_ok = 0, tok_out_of_range = 0;
	uint64_t unknown_lines = 0;
	int ready_done = 0;
	int64_t last_token_ms = mono_ms();
	int64_t first_rx = 0, last_rx = 0;

	size_t cap = 4 << 20, len = 0;
	char *buf = malloc(cap);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (!stop) {
		if (tok_unique + lost_exec >= count && mono_ms() - last_token_ms >= quiet_ms)
			break;
		int pr = poll(&pfd, 1, 50);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			continue;
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tap: read");
			break;
		}
		if (n == 0)
			break;
		int64_t rx = boottime_ns();
		if (!first_rx)
			first_rx = rx;
		last_rx = rx;
		bytes += (uint64_t)n;
		len += (size_t)n;
		char *p = buf, *end = buf + len;
		char *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			const char *t = memmem(p, (size_t)(nl - p), "\"type\":", 7);
			if (t) {
				t += 7;
				while (*t == ' ')
					t++;
			}
			int64_t pid = num_after(p, nl, "\"pid\":");
			if (t && strncmp(t, "\"exec\"", 6) == 0) {
				execs++;
				const char *k = memmem(p, (size_t)(nl - p), prefix, (size_t)plen);
				if (k) {
					k += plen;
					if (strncmp(k, "ready\"", 6) == 0) {
						if (!ready_done && ready) {
							int rfd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
							if (rfd >= 0)
								close(rfd);
						}
						ready_done = 1;
					} else if (*k >= '0' && *k <= '9') {
						uint64_t seq = 0;
						while (*k >= '0' && *k <= '9')
							seq = seq * 10 + (uint64_t)(*k++ - '0');
						/* The next argv element is the spawner's stamp. */
						int64_t stamp = -1;
						if (strncmp(k, "\",\"", 3) == 0)
							stamp = num_after(k, nl, "\",\"");
						else if (strncmp(k, "\", \"", 4) == 0)
							stamp = num_after(k, nl, "\", \"");
						if (seq >= count) {
							tok_out_of_range++;
						} else if (seen[seq]) {
							tok_dup++;
						} else {
							seen[seq] = 1;
							tok_unique++;
							last_token_ms = mono_ms();
							int64_t kt = num_after(p, nl, "\"ktime_ns\":");
							if (stamp > 0 && kt > 0) {
								lat_argv[nlat] = rx - stamp;
								lat_kernel[nlat] = rx - kt;
								nlat++;
							}
							if (pid > 0 && pid <= pid_max) {
								if (state[pid] == P_FORKED)
									tok_fork_ok++;
								state[pid] = P_EXECED;
							}
						}
					}
				} else if (pid > 0 && pid <= pid_max) {
					state[pid] = P_NONE;
				}
			} else if (t && strncmp(t, "\"fork\"", 6) == 0) {
				forks++;
				if (pid > 0 && pid <= pid_max)
					state[pid] = P_FORKED;
			} else if (t && strncmp(t, "\"exit\"", 6) == 0) {
				exits++;
				if (pid > 0 && pid <= pid_max) {
					if (state[pid] == P_EXECED)
						tok_exit_ok++;
					state[pid] = P_NONE;
				}
			} else if (t && strncmp(t, "\"lost\"", 6) == 0) {
				lost_lines++;
				int64_t c = num_after(p, nl, "\"count\":");
				if (c > 0)
					lost_total += (uint64_t)c;
				const char *bt = memmem(p, (size_t)(nl - p), "\"by_type\":", 10);
				int64_t e = bt ? num_after(bt, nl, "\"exec\":") : -1;
				if (e >= 0)
					lost_exec += (uint64_t)e;
				else if (c > 0)
					lost_exec_known = 0;
			} else if (t && strncmp(t, "\"hello\"", 7) == 0) {
				hello++;
			} else {
				unknown_lines++;
			}
			p = nl + 1;
		}
		len = (size_t)(end - p);
		memmove(buf, p, len);
		if (len >= cap - 1) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	close(fd);

	printf("{\"run\":\"%s\",\"count\":%" PRIu64 ",\"lines\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"hello\":%" PRIu64
	       ",\"forks\":%" PRIu64 ",\"execs\":%" PRIu64 ",\"exits\":%" PRIu64 ",\"unknown_lines\":%" PRIu64
	       ",\"lost_lines\":%" PRIu64 ",\"lost_total\":%" PRIu64 ",\"lost_exec\":%" PRIu64
	       ",\"lost_exec_known\":%s,\"tokens\":%" PRIu64 ",\"token_dups\":%" PRIu64
	       ",\"token_out_of_range\":%" PRIu64 ",\"token_fork_ok\":%" PRIu64 ",\"token_exit_ok\":%" PRIu64
	       ",\"rx_span_s\":%.6f,",
	       run, count, lines, bytes, hello, forks, execs, exits, unknown_lines, lost_lines, lost_total, lost_exec,
	       lost_exec_known ? "true" : "false", tok_unique, tok_dup, tok_out_of_range, tok_fork_ok, tok_exit_ok,
	       (double)(last_rx - first_rx) / 1e9);
	print_dist("lat_exec_to_line_ns", lat_argv, nlat);
	printf(",");
	print_dist("lat_kernel_to_line_ns", lat_kernel, nlat);
	printf("}\n");
	return 0;
}
