/*
 * storm: the exec storm of the execmond benchmarks and integration tests (the
 * one storm driver; meson builds it as bench/storm).
 *
 * Forks one spawner per core; each posix_spawn()s the static no-op binary and
 * waits for it, until the spawners together have run --count execs. Every
 * spawn's argv is
 *
 *     noop <token>-<seq> <boottime_ns>
 *
 * where <token> is --token, by default execmond-bench-<run>; <seq> is unique
 * in the run (0 .. count-1) and <boottime_ns> is CLOCK_BOOTTIME read just
 * before posix_spawn(), so a consumer can count the execs it saw and time
 * exec -> line on the same clock as the kernel's ktime (bpf_ktime_get_boot_ns).
 *
 * With --rate R the spawners follow one shared schedule (exec <seq> is due at
 * start + seq / R), otherwise they go as fast as they can. Prints one JSON
 * object: count, elapsed, rate. The spawners die with the storm (a killed
 * storm leaves no spawner running on).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct spawner_stats {
	uint64_t spawned;
	uint64_t failed;     /* posix_spawn errors and non-zero exits */
	int64_t max_lag_ns;  /* --rate: latest start behind schedule */
	int64_t last_end_ns; /* CLOCK_MONOTONIC when the spawner's last child was reaped */
} __attribute__((aligned(64)));

struct shared {
	int64_t start_ns; /* CLOCK_MONOTONIC schedule origin, set before release */
	struct spawner_stats s[];
};

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t mono_ns)
{
	struct timespec ts = {.tv_sec = mono_ns / 1000000000LL, .tv_nsec = mono_ns % 1000000000LL};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: storm --count N [--spawners K] [--rate EXECS_PER_S] [--run ID | --token T] [--noop PATH]\n"
		   "  --count N       total execs over all spawners (required)\n"
		   "  --spawners K    spawner processes (default: online CPUs)\n"
		   "  --rate R        total execs/s on a fixed schedule (default: as fast as possible)\n"
		   "  --run ID        token run id, [A-Za-z0-9]+ (default: pid)\n"
		   "  --token T       argv[1] prefix, [A-Za-z0-9._-]+ (default: execmond-bench-<run>)\n"
		   "  --noop PATH     binary to spawn (default: 'noop' next to this program)\n");
}

static int run_spawner(struct shared *sh, int idx, int nspawners, uint64_t count, double rate,
		       const char *noop, const char *prefix, int release_fd)
{
	char c;
	/* Wait for the release: the parent closes the pipe's write end. */
	while (read(release_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(release_fd);

	struct spawner_stats *st = &sh->s[idx];
	char token[160], stamp[32];
	char *argv[] = {"noop", token, stamp, NULL};
	char *envp[] = {NULL};
	const int64_t start = sh->start_ns;

	for (uint64_t seq = (uint64_t)idx; seq < count; seq += (uint64_t)nspawners) {
		if (rate > 0) {
			int64_t due = start + (int64_t)((double)seq * 1e9 / rate);
			int64_t now = now_ns(CLOCK_MONOTONIC);
			if (now < due)
				sleep_until(due);
			else if (now - due > st->max_lag_ns)
				st->max_lag_ns = now - due;
		}
		snprintf(token, sizeof token, "%s-%" PRIu64, prefix, seq);
		snprintf(stamp, sizeof stamp, "%" PRId64, now_ns(CLOCK_BOOTTIME));
		pid_t pid;
		int err = posix_spawn(&pid, noop, NULL, NULL, argv, envp);
		if (err != 0) {
			st->failed++;
			continue;
		}
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			st->failed++;
		st->spawned++;
	}
	st->last_end_ns = now_ns(CLOCK_MONOTONIC);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t count = 0;
	long nspawners = sysconf(_SC_NPROCESSORS_ONLN);
	double rate = 0;
	char run[48];
	char prefix[128] = "";
	char noop[PATH_MAX] = "";
	snprintf(run, sizeof run, "%d", (int)getpid());

	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'}, {"spawners", required_argument, NULL, 'j'},
		{"rate", required_argument, NULL, 'r'},	 {"run", required_argument, NULL, 'i'},
		{"noop", required_argument, NULL, 'x'},	 {"token", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},	 {NULL, 0, NULL, 0},
	};
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	static const char alnum[] = ALNUM, token_chars[] = ALNUM "._-";
	int o;
	while ((o = getopt_long(argc, argv, "n:j:r:i:x:t:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'j': nspawners = strtol(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'i':
			if (strlen(optarg) >= sizeof run || strspn(optarg, alnum) != strlen(optarg)) {
				fprintf(stderr, "storm: --run must be [A-Za-z0-9]{1,47}\n");
				return 2;
			}
			snprintf(run, sizeof run, "%s", optarg);
			break;
		case 't':
			if (!*optarg || strlen(optarg) >= sizeof prefix ||
			    strspn(optarg, token_chars) != strlen(optarg)) {
				fprintf(stderr, "storm: --token must be [A-Za-z0-9._-]{1,127}\n");
				return 2;
			}
			snprintf(prefix, sizeof prefix, "%s", optarg);
			break;
		case 'x': snprintf(noop, sizeof noop, "%s", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (count == 0 || nspawners < 1 || rate < 0) {
		usage(stderr);
		return 2;
	}
	if ((uint64_t)nspawners > count)
		nspawners = (long)count;
	if (prefix[0] == '\0')
		snprintf(prefix, sizeof prefix, "execmond-bench-%s", run);
	if (noop[0] == '\0') {
		char self[PATH_MAX - 8];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n < 0) {
			perror("storm: readlink /proc/self/exe");
			return 1;
		}
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		*slash = '\0';
		snprintf(noop, sizeof noop, "%s/noop", self);
	}
	if (access(noop, X_OK) != 0) {
		fprintf(stderr, "storm: %s: %s\n", noop, strerror(errno));
		return 1;
	}

	size_t shsize = sizeof(struct shared) + (size_t)nspawners * sizeof(struct spawner_stats);
	struct shared *sh = mmap(NULL, shsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("storm: mmap");
		return 1;
	}
	memset(sh, 0, shsize);

	int release[2];
	if (pipe(release) != 0) {
		perror("storm: pipe");
		return 1;
	}
	pid_t *kids = calloc((size_t)nspawners, sizeof *kids);
	pid_t self = getpid();
	for (long i = 0; i < nspawners; i++) {
		pid_t p = fork();
		if (p < 0) {
			perror("storm: fork");
			return 1;
		}
		if (p == 0) {
			close(release[1]);
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != self)
				_exit(1);
			_exit(run_spawner(sh, (int)i, (int)nspawners, count, rate, noop, prefix, release[0]));
		}
		kids[i] = p;
	}
	close(release[0]);
	/* Let the spawners reach their read() before the clock starts. */
	usleep(20000);
	sh->start_ns = now_ns(CLOCK_MONOTONIC);
	__sync_synchronize();
	close(release[1]);

	int bad = 0;
	for (long i = 0; i < nspawners; i++) {
		int status;
		while (waitpid(kids[i], &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	int64_t end = 0;
	uint64_t spawned = 0, failed = 0;
	int64_t max_lag = 0;
	for (long i = 0; i < nspawners; i++) {
		spawned += sh->s[i].spawned;
		failed += sh->s[i].failed;
		if (sh->s[i].last_end_ns > end)
			end = sh->s[i].last_end_ns;
		if (sh->s[i].max_lag_ns > max_lag)
			max_lag = sh->s[i].max_lag_ns;
	}
	double elapsed = (double)(end - sh->start_ns) / 1e9;
	printf("{\"run\":\"%s\",\"token\":\"%s\",\"count\":%" PRIu64 ",\"spawned\":%" PRIu64 ",\"failed\":%" PRIu64
	       ",\"spawners\":%ld,\"rate_target\":%.1f,\"elapsed_s\":%.6f,\"rate\":%.1f,\"max_lag_ms\":%.3f}\n",
	       run, prefix, count, spawned, failed, nspawners, rate, elapsed,
	       elapsed > 0 ? (double)spawned / elapsed : 0.0,
	       (double)max_lag / 1e6);
	return (bad || failed) ? 1 : 0;
}
