/*
 * ktest: the kernel matrix's driver (tests/kernels/run.sh). Runs inside a qemu
 * guest booted on one of Debian's kernels, and on the host: starts the real
 * daemon in one probe mode, runs processes whose truth it knows from the
 * kernel's own answers (fork()'s pid, getpid(), waitpid()'s status), reads the
 * daemon's stream, and prints what it saw as "KTEST ..." lines for
 * tests/kernels/check.py to judge. Static, no libraries: the guest has only
 * busybox.
 *
 *   ktest run --daemon PATH --mode btf|btf-file|fork-map|wrong-btf --noop PATH
 *             [--dir DIR] [--btf FILE] [--storm N] [--groups N] [--bpf-stats]
 *             [-- DAEMON-ARGS...]
 *
 * btf-file, fork-map and wrong-btf hide the kernel's BTF from the daemon: a
 * private mount namespace with an empty tmpfs over /sys/kernel/btf (after
 * copying vmlinux into DIR as the --btf file for btf-file). wrong-btf gives
 * the daemon --btf FILE, another kernel's BTF, which it must refuse. Child
 * roles (exec'ed by run):
 *   ktest exit CODE ARGS...     exits CODE
 *   ktest kill                  SIGKILLs itself
 *   ktest leader-first CODE     the leader pthread_exit()s, then another thread exit(CODE)s
 *   ktest exit-group N CODE     N threads and the leader call exit_group(CODE) at once
 *   ktest whoami FILE           writes what the kernel says of it (login uid,
 *                               session, controlling tty, AT_SECURE, exe) to FILE
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("KTEST fatal ");
	vprintf(fmt, ap);
	printf(": %s\n", strerror(errno));
	va_end(ap);
	fflush(stdout);
	exit(2);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------ child roles */

static pthread_barrier_t barrier;
static int exit_code_arg;

static void *exit_group_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&barrier);
	syscall(SYS_exit_group, exit_code_arg);
	return NULL;
}

static void *last_thread(void *arg)
{
	(void)arg;
	/* Long enough for the leader's exit to be over. */
	usleep(100 * 1000);
	exit(exit_code_arg);
}

static void read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (fd >= 0)
		close(fd);
}

/* The truth for an exec line's auid, session_id, tty, secure_exec and exe:
 * what the kernel tells the process itself, as JSON members. */
static int whoami(const char *file)
{
	char loginuid[32], sessionid[32], stat[1024], exe[4096];
	unsigned long tty_nr = 0;
	ssize_t n;

	read_small("/proc/self/loginuid", loginuid, sizeof(loginuid));
	read_small("/proc/self/sessionid", sessionid, sizeof(sessionid));
	read_small("/proc/self/stat", stat, sizeof(stat));
	/* tty_nr is the 7th field; the 2nd (comm) may hold spaces: after ')'. */
	char *after = strrchr(stat, ')');
	if (after)
		sscanf(after + 1, " %*c %*d %*d %*d %lu", &tty_nr);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	FILE *f = fopen(file, "w");
	if (!f)
		return 101;
	fprintf(f, "\"pid\":%d,\"loginuid\":%s,\"sessionid\":%s,\"tty_nr\":%lu,\"secure\":%lu,\"exe\":\"%s\"",
		getpid(), loginuid[0] ? loginuid : "null", sessionid[0] ? sessionid : "null", tty_nr,
		getauxval(AT_SECURE), exe);
	return fclose(f) == 0 ? 0 : 102;
}

static int child_role(int argc, char **argv)
{
	if (strcmp(argv[1], "whoami") == 0 && argc >= 3)
		return whoami(argv[2]);
	if (strcmp(argv[1], "exit") == 0 && argc >= 3)
		return atoi(argv[2]);
	if (strcmp(argv[1], "kill") == 0) {
		kill(getpid(), SIGKILL);
		pause();
	}
	if (strcmp(argv[1], "leader-first") == 0 && argc >= 3) {
		pthread_t t;

		exit_code_arg = atoi(argv[2]);
		/* A thread that starts some clock ticks after the process, so
		 * that an exit line keyed by its start matches no other line. */
		usleep(50 * 1000);
		pthread_create(&t, NULL, last_thread, NULL);
		pthread_exit(NULL);
	}
	if (strcmp(argv[1], "exit-group") == 0 && argc >= 4) {
		int n = atoi(argv[2]);
		pthread_t t;

		exit_code_arg = atoi(argv[3]);
		pthread_barrier_init(&barrier, NULL, (unsigned)n + 1);
		for (int i = 0; i < n; i++)
			pthread_create(&t, NULL, exit_group_thread, NULL);
		exit_group_thread(NULL);
	}
	return 100;
}

/* ------------------------------------------------------------ the stream */

/* Every line of the stream, kept; the reader thread appends. */
struct line {
	char *text;
	char type[16];
	long pid; /* the first "pid" member: the line's own process */
};

static struct {
	pthread_mutex_t lock;
	struct line *v;
	size_t n, cap;
	int closed;
} lines = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void parse_line(struct line *l)
{
	const char *t = strstr(l->text, "\"type\":\"");
	const char *p = strstr(l->text, "\"pid\":");

	l->type[0] = '\0';
	if (t) {
		t += 8;
		size_t i = 0;
		while (t[i] && t[i] != '"' && i + 1 < sizeof(l->type)) {
			l->type[i] = t[i];
			i++;
		}
		l->type[i] = '\0';
	}
	l->pid = p ? strtol(p + 6, NULL, 10) : -1;
}

static void *reader(void *arg)
{
	int fd = *(int *)arg;
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);

	for (;;) {
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		char *start = buf, *nl;
		while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
			struct line l = {.text = strndup(start, (size_t)(nl - start))};

			parse_line(&l);
			pthread_mutex_lock(&lines.lock);
			if (lines.n == lines.cap)
				lines.v = realloc(lines.v, (lines.cap = lines.cap ? 2 * lines.cap : 4096) *
								   sizeof(*lines.v));
			lines.v[lines.n++] = l;
			pthread_mutex_unlock(&lines.lock);
			start = nl + 1;
		}
		len -= (size_t)(start - buf);
		memmove(buf, start, len);
	}
	pthread_mutex_lock(&lines.lock);
	lines.closed = 1;
	pthread_mutex_unlock(&lines.lock);
	free(buf);
	return NULL;
}

/* Lines of `type` ("" for any) whose process is `pid`. */
static int count_lines(const char *type, long pid)
{
	int n = 0;

	pthread_mutex_lock(&lines.lock);
	for (size_t i = 0; i < lines.n; i++)
		if ((!*type || strcmp(lines.v[i].type, type) == 0) && (pid < 0 || lines.v[i].pid == pid))
			n++;
	pthread_mutex_unlock(&lines.lock);
	return n;
}

/* Waits (polling, up to timeout_ms) until an exit line for pid has arrived. */
static int wait_exit_line(long pid, double timeout_ms)
{
	double end = now_ms() + timeout_ms;

	while (now_ms() < end) {
		if (count_lines("exit", pid) > 0)
			return 1;
		usleep(2000);
	}
	return 0;
}

static void print_lines_of(long pid)
{
	pthread_mutex_lock(&lines.lock);
	for (size_t i = 0; i < lines.n; i++)
		if (lines.v[i].pid == pid)
			printf("KTEST line %s\n", lines.v[i].text);
	pthread_mutex_unlock(&lines.lock);
}

/* ------------------------------------------------------------ processes */

static const char *self_path;

static pid_t spawn(char *const argv[])
{
	pid_t pid;
	int err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);

	if (err) {
		errno = err;
		die("spawn %s", argv[0]);
	}
	return pid;
}

static int reap_usage(pid_t pid, struct rusage *ru)
{
	int status = 0;

	while (wait4(pid, &status, 0, ru) < 0)
		if (errno != EINTR)
			die("wait4 %d", pid);
	return status;
}

static int reap(pid_t pid)
{
	struct rusage ru;

	return reap_usage(pid, &ru);
}

/*
 * A known command: its fork, exec and exit lines are printed with the truth,
 * which includes the directory it runs in (`cwd`: posix_spawn chdirs the
 * child there when given), the file it runs (realpath of argv[0]) and
 * wait4()'s rusage (the truth for the exit line's resource usage).
 */
static void known_in(const char *name, char *const argv[], const char *cwd)
{
	posix_spawn_file_actions_t fa;
	char here[4096], exe[4096];
	struct rusage ru;
	pid_t pid;
	int err, status, seen;

	posix_spawn_file_actions_init(&fa);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		errno = err;
		die("spawn %s", argv[0]);
	}
	status = reap_usage(pid, &ru);
	seen = wait_exit_line(pid, 20000);
	if (!cwd && !getcwd(here, sizeof(here)))
		die("getcwd");
	if (!realpath(argv[0], exe))
		die("realpath %s", argv[0]);

	printf("KTEST truth {\"case\":\"%s\",\"pid\":%d,\"ppid\":%d,\"status\":%d,"
	       "\"utime_us\":%lld,\"stime_us\":%lld,\"maxrss_kib\":%ld,\"nvcsw\":%ld,\"nivcsw\":%ld,"
	       "\"filename\":\"%s\",\"cwd\":\"%s\",\"exe\":\"%s\",\"argv\":[",
	       name, pid, getpid(), status, (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss, ru.ru_nvcsw,
	       ru.ru_nivcsw, argv[0], cwd ? cwd : here, exe);
	for (int i = 0; argv[i]; i++)
		printf("%s\"%s\"", i ? "," : "", argv[i]);
	printf("],\"exit_line_seen\":%s}\n", seen ? "true" : "false");
	print_lines_of(pid);
}

static void known(const char *name, char *const argv[])
{
	known_in(name, argv, NULL);
}

/* An execve() that fails: the child exits with the errno it got, and its
 * exec_failed line (the daemon runs with --exec-failures) is printed with it. */
static void failed_exec(const char *name, const char *path)
{
	char *argv[] = {"attempt", "two words", "", NULL};
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execve(path, argv, environ);
		_exit(errno);
	}
	int status = reap(pid);
	int seen = wait_exit_line(pid, 20000);

	printf("KTEST failed_truth {\"case\":\"%s\",\"pid\":%d,\"ppid\":%d,\"errno\":%d,\"filename\":\"%s\","
	       "\"argv\":[\"attempt\",\"two words\",\"\"],\"exit_line_seen\":%s}\n",
	       name, pid, getpid(), WIFEXITED(status) ? WEXITSTATUS(status) : -1, path,
	       seen ? "true" : "false");
	print_lines_of(pid);
}

/*
 * Who and where: a child prepared as the case says execs `ktest whoami`,
 * which writes what the kernel tells it about itself; that is printed as the
 * truth for the exec line (check.py compares).
 */
enum id_case { ID_LOGIN, ID_TTY, ID_SETUID, ID_FILELESS };

static void copy_file(const char *from, const char *to);

/* Execs the open file `fd`. Debian's 5.10 answers fexecve() ENOENT for a
 * memfd; /proc/self/fd names the same file, whatever the directories above it. */
static void exec_fd(int fd, char *const argv[])
{
	char via_proc[64];

	fexecve(fd, argv, environ);
	snprintf(via_proc, sizeof(via_proc), "/proc/self/fd/%d", fd);
	execve(via_proc, argv, environ);
	fprintf(stderr, "ktest: execve %s: %s\n", via_proc, strerror(errno));
}

static void identity_case(const char *name, enum id_case what, const char *dir)
{
	char file[300], suid[300], pts[64] = "";
	char *argv[] = {"ktest", "whoami", file, NULL};
	int master = -1, memfd = -1, suid_fd = -1;

	snprintf(file, sizeof(file), "%s/ktest-whoami-%s", dir, name);
	unlink(file);
	if (what == ID_TTY) {
		master = posix_openpt(O_RDWR | O_NOCTTY);
		if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || !ptsname(master))
			die("pty");
		snprintf(pts, sizeof(pts), "%s", ptsname(master));
	} else if (what == ID_SETUID) {
		/* A setuid-root copy run by nobody: AT_SECURE, unless the mount is nosuid. */
		snprintf(suid, sizeof(suid), "%s/ktest-suid", dir);
		copy_file(self_path, suid);
		if (chmod(suid, 04755) != 0)
			die("chmod %s", suid);
		/* Opened here: nobody need not be able to reach DIR (mktemp -d is 0700). */
		suid_fd = open(suid, O_RDONLY);
		if (suid_fd < 0)
			die("open %s", suid);
	} else if (what == ID_FILELESS) {
		/* An exec of a file with no name on disk. */
		char buf[1 << 16];
		ssize_t n;
		int in = open(self_path, O_RDONLY);

		memfd = (int)syscall(SYS_memfd_create, "ktest", 0);
		if (in < 0 || memfd < 0)
			die("memfd copy of %s", self_path);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(memfd, buf, (size_t)n) != n)
				die("write memfd");
		close(in);
	}
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (what == ID_LOGIN) {
			/* A login: the kernel gives the process a new audit session too. */
			int fd = open("/proc/self/loginuid", O_WRONLY);
			if (fd >= 0) {
				if (write(fd, "4242", 4) != 4)
					_exit(103);
				close(fd);
			}
		} else if (what == ID_TTY) {
			/* A session leader's first terminal opened becomes its controlling tty. */
			int slave;
			if (setsid() < 0 || (slave = open(pts, O_RDWR)) < 0 || dup2(slave, 0) < 0)
				_exit(104);
		} else if (what == ID_SETUID) {
			if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
				_exit(105);
			exec_fd(suid_fd, argv);
			_exit(106);
		} else if (what == ID_FILELESS) {
			exec_fd(memfd, argv);
			_exit(107);
		}
		execve(self_path, argv, environ);
		_exit(108);
	}
	int status = reap(pid);
	int seen = wait_exit_line(pid, 20000);
	char truth[8192];
	read_small(file, truth, sizeof(truth));
	if (master >= 0)
		close(master);
	if (memfd >= 0)
		close(memfd);
	if (suid_fd >= 0)
		close(suid_fd);
	printf("KTEST id_truth {\"case\":\"%s\",\"status\":%d,\"pts\":\"%s\",\"exit_line_seen\":%s%s%s}\n",
	       name, status, pts[0] ? pts + 5 : "", seen ? "true" : "false", truth[0] ? "," : "", truth);
	print_lines_of(pid);
}

/* ------------------------------------------------------------ BPF objects */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

struct ids {
	unsigned prog[64], map[64], link[64];
	int nprog, nmap, nlink;
};

static void add_id(unsigned *v, int *n, unsigned id)
{
	for (int i = 0; i < *n; i++)
		if (v[i] == id)
			return;
	if (*n < 64)
		v[(*n)++] = id;
}

/* The daemon's programs, maps and links, from its fds' fdinfo (a link's
 * fdinfo names its program too). */
static void daemon_ids(pid_t pid, struct ids *ids)
{
	char path[64], line[256];
	DIR *d;
	struct dirent *e;

	memset(ids, 0, sizeof(*ids));
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	d = opendir(path);
	if (!d)
		die("opendir %s", path);
	while ((e = readdir(d))) {
		char p[400];
		FILE *f;
		unsigned v;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "prog_id: %u", &v) == 1)
				add_id(ids->prog, &ids->nprog, v);
			else if (sscanf(line, "map_id: %u", &v) == 1)
				add_id(ids->map, &ids->nmap, v);
			else if (sscanf(line, "link_id: %u", &v) == 1)
				add_id(ids->link, &ids->nlink, v);
		}
		fclose(f);
	}
	closedir(d);
}

/* Objects of these ids that still exist. */
static int ids_alive(const struct ids *ids)
{
	int alive = 0;
	struct {
		int cmd;
		const unsigned *v;
		int n;
	} kinds[] = {{BPF_PROG_GET_FD_BY_ID, ids->prog, ids->nprog},
		     {BPF_MAP_GET_FD_BY_ID, ids->map, ids->nmap},
		     {BPF_LINK_GET_FD_BY_ID, ids->link, ids->nlink}};

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		for (int i = 0; i < kinds[k].n; i++) {
			union bpf_attr a;
			long fd;

			memset(&a, 0, sizeof(a));
			if (kinds[k].cmd == BPF_PROG_GET_FD_BY_ID)
				a.prog_id = kinds[k].v[i];
			else if (kinds[k].cmd == BPF_MAP_GET_FD_BY_ID)
				a.map_id = kinds[k].v[i];
			else
				a.link_id = kinds[k].v[i];
			fd = sys_bpf(kinds[k].cmd, &a);
			if (fd >= 0) {
				alive++;
				close((int)fd);
			}
		}
	return alive;
}

struct prog_stats {
	char name[BPF_OBJ_NAME_LEN];
	unsigned long long run_time_ns, run_cnt;
};

static void read_prog_stats(const struct ids *ids, struct prog_stats *out)
{
	for (int i = 0; i < ids->nprog; i++) {
		union bpf_attr a;
		struct bpf_prog_info info;
		long fd;

		memset(&out[i], 0, sizeof(out[i]));
		memset(&a, 0, sizeof(a));
		a.prog_id = ids->prog[i];
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = (unsigned)fd;
		a.info.info_len = sizeof(info);
		a.info.info = (unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0) {
			memcpy(out[i].name, info.name, sizeof(out[i].name));
			out[i].run_time_ns = info.run_time_ns;
			out[i].run_cnt = info.run_cnt;
		}
		close((int)fd);
	}
}

/* ------------------------------------------------------------ the run */

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out;
	char buf[1 << 16];
	ssize_t n;

	if (in < 0)
		die("open %s", from);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		die("create %s", to);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("write %s", to);
	close(in);
	close(out);
}

/* The daemon sees no kernel BTF: an empty tmpfs over /sys/kernel/btf in a
 * mount namespace of ours, which it inherits. */
static void hide_kernel_btf(void)
{
	if (unshare(CLONE_NEWNS) != 0)
		die("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("make / private");
	if (mount("none", "/sys/kernel/btf", "tmpfs", 0, "mode=0755") != 0)
		die("mount tmpfs on /sys/kernel/btf");
}

static int write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
	close(fd);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *daemon = NULL, *mode = NULL, *noop = NULL, *dir = "/tmp", *other_btf = NULL;
	int storm = 1000, groups = 200, bpf_stats = 0, extra = argc;
	char sock[100], notify_path[100], btf_copy[200];
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	self_path = argv[0];
	if (argc >= 2 && strcmp(argv[1], "run") != 0)
		return child_role(argc, argv);
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			extra = i + 1;
			break;
		} else if (strcmp(argv[i], "--daemon") == 0 && i + 1 < argc)
			daemon = argv[++i];
		else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
			mode = argv[++i];
		else if (strcmp(argv[i], "--noop") == 0 && i + 1 < argc)
			noop = argv[++i];
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--storm") == 0 && i + 1 < argc)
			storm = atoi(argv[++i]);
		else if (strcmp(argv[i], "--btf") == 0 && i + 1 < argc)
			other_btf = argv[++i];
		else if (strcmp(argv[i], "--groups") == 0 && i + 1 < argc)
			groups = atoi(argv[++i]);
		else if (strcmp(argv[i], "--bpf-stats") == 0)
			bpf_stats = 1;
		else {
			fprintf(stderr, "ktest: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!daemon || !mode || !noop || (strcmp(mode, "wrong-btf") == 0 && !other_btf)) {
		fprintf(stderr,
			"usage: ktest run --daemon PATH --mode btf|btf-file|fork-map|wrong-btf --noop PATH "
			"[--dir DIR] [--btf FILE] [--storm N] [--groups N] [--bpf-stats] [-- DAEMON-ARGS]\n");
		return 2;
	}
	uname(&u);
	printf("KTEST begin mode=%s kernel=%s\n", mode, u.release);
	/* sd_notify() wants an absolute NOTIFY_SOCKET. */
	char *abs_dir = realpath(dir, NULL);
	if (!abs_dir)
		die("realpath %s", dir);
	dir = abs_dir;

	snprintf(sock, sizeof(sock), "%s/ktest-%d.sock", dir, getpid());
	snprintf(notify_path, sizeof(notify_path), "%s/ktest-%d.notify", dir, getpid());
	snprintf(btf_copy, sizeof(btf_copy), "%s/ktest-%d.btf", dir, getpid());
	if (strcmp(mode, "btf-file") == 0)
		copy_file("/sys/kernel/btf/vmlinux", btf_copy);
	if (strcmp(mode, "btf") != 0)
		hide_kernel_btf();

	/* Our own NOTIFY_SOCKET: READY=1 is what "ready" means, as for systemd. */
	int notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, notify_path, strlen(notify_path) + 1);
	unlink(notify_path);
	if (bind(notify, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		die("bind %s", notify_path);
	setenv("NOTIFY_SOCKET", notify_path, 1);

	char *dargv[64];
	int n = 0;
	dargv[n++] = (char *)daemon;
	dargv[n++] = "--socket";
	dargv[n++] = sock;
	dargv[n++] = "--log-target";
	dargv[n++] = "stderr";
	dargv[n++] = "--config";
	dargv[n++] = "/dev/null";
	if (strcmp(mode, "btf-file") == 0) {
		dargv[n++] = "--btf";
		dargv[n++] = btf_copy;
	} else if (strcmp(mode, "wrong-btf") == 0) {
		dargv[n++] = "--btf";
		dargv[n++] = (char *)other_btf;
	}
	dargv[n++] = "--exec-failures";
	/* Each kernel's choice is checked (check.py): a kernel timer where it has bpf_timer. */
	dargv[n++] = "--wakeup-timer";
	dargv[n++] = "auto";
	dargv[n++] = "--env";
	dargv[n++] = "KTEST_ENV";
	for (int i = extra; i < argc && n < 62; i++)
		dargv[n++] = argv[i];
	dargv[n] = NULL;

	double t0 = now_ms();
	pid_t dpid = spawn(dargv);
	unsetenv("NOTIFY_SOCKET");
	int ready = 0;
	while (!ready && now_ms() - t0 < 60000) {
		struct pollfd p = {.fd = notify, .events = POLLIN};
		int status;

		if (poll(&p, 1, 20) == 1) {
			char buf[4096];
			ssize_t r = recv(notify, buf, sizeof(buf) - 1, 0);

			if (r > 0) {
				buf[r] = '\0';
				ready = strstr(buf, "READY=1") != NULL;
			}
		}
		if (!ready && waitpid(dpid, &status, WNOHANG) == dpid) {
			printf("KTEST daemon_failed status=%d\n", status);
			printf("KTEST end\n");
			return 1;
		}
	}
	if (!ready) {
		printf("KTEST daemon_not_ready\n");
		kill(dpid, SIGKILL);
		printf("KTEST end\n");
		return 1;
	}
	printf("KTEST ready_ms=%.0f\n", now_ms() - t0);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un saddr = {.sun_family = AF_UNIX};
	memcpy(saddr.sun_path, sock, strlen(sock) + 1);
	if (connect(fd, (struct sockaddr *)&saddr, sizeof(saddr)) != 0)
		die("connect %s", sock);
	pthread_t rt;
	pthread_create(&rt, NULL, reader, &fd);
	/* The hello line first: the stream is live once it is here. */
	for (double end = now_ms() + 10000; count_lines("hello", -1) == 0 && now_ms() < end;)
		usleep(1000);
	pthread_mutex_lock(&lines.lock);
	if (lines.n > 0)
		printf("KTEST hello %s\n", lines.v[0].text);
	pthread_mutex_unlock(&lines.lock);

	struct ids ids;
	daemon_ids(dpid, &ids);
	printf("KTEST bpf_objects progs=%d maps=%d links=%d\n", ids.nprog, ids.nmap, ids.nlink);

	char *exit_argv[] = {(char *)self_path, "exit", "7", "two words", "", "x", NULL};
	char *kill_argv[] = {(char *)self_path, "kill", NULL};
	char *leader_argv[] = {(char *)self_path, "leader-first", "5", NULL};
	/* The known cases' exec lines must show it (--env KTEST_ENV), and only it. */
	setenv("KTEST_ENV", "seen", 1);
	setenv("KTEST_ENV_NOT_ASKED", "hidden", 1);
	/* Who and where (cwd, exe): a directory of its own, made canonical. */
	char cwd_dir[300], cwd_real[4096];
	snprintf(cwd_dir, sizeof(cwd_dir), "%s/ktest-cwd", dir);
	mkdir(cwd_dir, 0755);
	if (!realpath(cwd_dir, cwd_real))
		die("realpath %s", cwd_dir);
	known_in("exit", exit_argv, cwd_real);
	known("kill", kill_argv);
	known("leader-first", leader_argv);
	failed_exec("missing", "/ktest/no-such-file");
	failed_exec("directory", "/ktest");
	identity_case("login", ID_LOGIN, dir);
	identity_case("tty", ID_TTY, dir);
	identity_case("setuid", ID_SETUID, dir);
	identity_case("fileless", ID_FILELESS, dir);

	/* Many processes whose threads all exit at once: one exit line each. */
	pid_t *gp = calloc((size_t)groups, sizeof(*gp));
	char *group_argv[] = {(char *)self_path, "exit-group", "16", "3", NULL};
	/* One at a time: its threads then really exit on all CPUs together. */
	int group_status_ok = 0;
	double g0 = now_ms();
	for (int i = 0; i < groups; i++) {
		gp[i] = spawn(group_argv);
		group_status_ok += reap(gp[i]) == (3 << 8);
	}
	/* Records are consumed in reservation order, and every thread's exit
	 * happened before its process was reaped: once a later process's exit
	 * line is here, any second exit line of those would be too. */
	char *sentinel_argv[] = {(char *)self_path, "exit", "0", "sentinel", NULL};
	pid_t sentinel = spawn(sentinel_argv);
	reap(sentinel);
	int sentinel_seen = wait_exit_line(sentinel, 20000);
	/* Exit lines per process, in stream order between its fork line and the
	 * next one's: 16 threads each wrap the pid space quickly, so a pid
	 * alone does not name one process of this run. */
	int one = 0, dup = 0, none = 0, cur = -1;
	int *exits = calloc((size_t)groups, sizeof(*exits));
	pthread_mutex_lock(&lines.lock);
	for (size_t j = 0; j < lines.n; j++) {
		if (cur + 1 < groups && lines.v[j].pid == gp[cur + 1] && strcmp(lines.v[j].type, "fork") == 0)
			cur++;
		else if (cur >= 0 && lines.v[j].pid == gp[cur] && strcmp(lines.v[j].type, "exit") == 0)
			exits[cur]++;
	}
	pthread_mutex_unlock(&lines.lock);
	for (int i = 0; i < groups; i++) {
		one += exits[i] == 1;
		dup += exits[i] > 1;
		none += exits[i] == 0;
	}
	printf("KTEST exit_group processes=%d status_ok=%d one_exit=%d duplicate=%d missing=%d sentinel=%d "
	       "ms=%.0f\n",
	       groups, group_status_ok, one, dup, none, sentinel_seen, now_ms() - g0);

	/* The storm: every exec has its line, nothing is lost. */
	struct prog_stats before[64], after[64];
	char old_stats[16] = "0";
	if (bpf_stats) {
		int f = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY);
		if (f >= 0) {
			ssize_t r = read(f, old_stats, sizeof(old_stats) - 1);
			old_stats[r > 0 ? r : 0] = '\0';
			close(f);
		}
		write_sysctl("/proc/sys/kernel/bpf_stats_enabled", "1");
		read_prog_stats(&ids, before);
	}
	pid_t *sp = calloc((size_t)storm, sizeof(*sp));
	char tag[32];
	char *storm_argv[] = {(char *)noop, "ktest-storm", tag, NULL};
	double s0 = now_ms();
	for (int i = 0; i < storm; i++) {
		snprintf(tag, sizeof(tag), "%d", i);
		sp[i] = spawn(storm_argv);
		reap(sp[i]);
	}
	double storm_ms = now_ms() - s0;
	if (bpf_stats) {
		read_prog_stats(&ids, after);
		double total = 0;
		for (int i = 0; i < ids.nprog; i++) {
			unsigned long long runs = after[i].run_cnt - before[i].run_cnt;
			unsigned long long ns = after[i].run_time_ns - before[i].run_time_ns;
			if (!runs)
				continue;
			/* Each program runs once per spawned exec (fork, exec, exit):
			 * the sum of their per-run times is the cost of one exec. Runs
			 * of other processes on the machine share the average. */
			total += (double)ns / (double)runs;
			printf("KTEST bpf_stats prog=%s runs=%llu ns_per_run=%.0f\n", after[i].name, runs,
			       (double)ns / (double)runs);
		}
		printf("KTEST bpf_ns_per_exec=%.0f execs=%d\n", total, storm);
		write_sysctl("/proc/sys/kernel/bpf_stats_enabled", old_stats);
	}
	int storm_seen = wait_exit_line(sp[storm - 1], 60000);
	if (!storm_seen) {
		/* What the daemon says about its ring, for the log. */
		const char stats[] = "{\"type\":\"stats\"}\n";
		if (write(fd, stats, sizeof(stats) - 1) == (ssize_t)(sizeof(stats) - 1))
			for (double end = now_ms() + 5000; count_lines("stats", -1) == 0 && now_ms() < end;)
				usleep(10000);
		pthread_mutex_lock(&lines.lock);
		for (size_t j = 0; j < lines.n; j++)
			if (strcmp(lines.v[j].type, "stats") == 0)
				printf("KTEST stats %s\n", lines.v[j].text);
		pthread_mutex_unlock(&lines.lock);
	}
	int exec_ok = 0, argv_ok = 0, fork_ok = 0, exit_ok = 0;
	pthread_mutex_lock(&lines.lock);
	/* pids of the storm in a table: the storm is all ours, lines are many. */
	for (int i = 0; i < storm; i++) {
		int ex = 0, av = 0, fo = 0, xi = 0;
		for (size_t j = 0; j < lines.n; j++) {
			if (lines.v[j].pid != sp[i])
				continue;
			if (strcmp(lines.v[j].type, "exec") == 0) {
				ex++;
				av += strstr(lines.v[j].text, "\"argv\":[") &&
				      strstr(lines.v[j].text, "\"ktest-storm\"");
			} else if (strcmp(lines.v[j].type, "fork") == 0)
				fo++;
			else if (strcmp(lines.v[j].type, "exit") == 0)
				xi++;
		}
		exec_ok += ex == 1;
		argv_ok += av == 1;
		fork_ok += fo == 1;
		exit_ok += xi == 1;
	}
	int lost = 0;
	for (size_t j = 0; j < lines.n; j++)
		lost += strcmp(lines.v[j].type, "lost") == 0;
	pthread_mutex_unlock(&lines.lock);
	printf("KTEST storm spawned=%d exec_lines=%d with_argv=%d fork_lines=%d exit_lines=%d lost_lines=%d "
	       "ms=%.0f\n",
	       storm, exec_ok, argv_ok, fork_ok, exit_ok, lost, storm_ms);

	/* SIGTERM: exit 0, and every program, map and link of the daemon gone. */
	double k0 = now_ms();
	kill(dpid, SIGTERM);
	int dstatus = reap(dpid);
	double stop_ms = now_ms() - k0;
	int alive = ids_alive(&ids);
	for (double end = now_ms() + 5000; alive > 0 && now_ms() < end; alive = ids_alive(&ids))
		usleep(10000);
	printf("KTEST stop status=%d stop_ms=%.0f bpf_objects_left=%d\n", dstatus, stop_ms, alive);
	pthread_join(rt, NULL);
	close(fd);
	unlink(btf_copy);
	unlink(notify_path);
	printf("KTEST end\n");
	return 0;
}
