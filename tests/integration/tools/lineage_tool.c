// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Builds process trees of a known shape for the lineage tests
 * (tests/integration/lineage_test.cpp). One binary, one subcommand per shape;
 * each prints the ground truth it alone knows (pids before a reparenting, a
 * thread's tid) as "word number ..." lines on stdout, flushed at once.
 *
 *   chain N CMD...        N nested lineage_tool processes (each a fork+exec of
 *                         this tool), the innermost execs CMD
 *   gate CMD...           waits for a line on stdin, then spawn CMD
 *   spawn CMD...          fork, exec CMD in the child, wait, exit with its code
 *   block                 reads stdin until EOF
 *   wide N CMD...         N children at once, each execs CMD; waits for all
 *   daemonize S CMD...    double fork: the middle process exits, the orphan
 *                         waits to be reparented (to this process if S is 1:
 *                         PR_SET_CHILD_SUBREAPER), prints
 *                         "orphan PID FORK_PPID NEW_PPID" and execs CMD
 *   thread-exec CMD...    a second thread prints "thread TGID TID" and execs CMD
 *   reuse CMD...          a child execs /bin/true and is reaped ("old PID");
 *                         then a child of a new process gets that pid again
 *                         through clone3(set_tid) and execs CMD
 *                         ("new PID PARENT"); "reuse-failed ERRNO" if the
 *                         kernel refused
 *   incgroup DIR CMD...   moves itself into cgroup DIR, then execs CMD
 *   churn N               N short-lived children (vfork + _exit), reaped
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char self_path[4096];

static void die(const char* what) {
    fprintf(stderr, "lineage_tool: %s: %s\n", what, strerror(errno));
    exit(111);
}

static void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int wait_child(pid_t pid) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void exec_cmd(char** cmd) {
    execv(cmd[0], cmd);
    die(cmd[0]);
}

static int spawn_and_wait(char** cmd) {
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        exec_cmd(cmd);
    return wait_child(pid);
}

// lineage_tool chain N CMD...
static int cmd_chain(int argc, char** argv) {
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : -1;
    if (n < 0 || argc < 4)
        return 2;
    if (n == 0)
        exec_cmd(argv + 3);
    char next[32];
    snprintf(next, sizeof(next), "%ld", n - 1);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        argv[0] = (char*)self_path;
        argv[2] = next;
        exec_cmd(argv);
    }
    return wait_child(pid);
}

static int cmd_gate(int argc, char** argv) {
    char line[256];
    if (argc < 3)
        return 2;
    if (!fgets(line, sizeof(line), stdin))
        return 3;
    return spawn_and_wait(argv + 2);
}

static int cmd_block(void) {
    char buf[256];
    while (read(0, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

static int cmd_wide(int argc, char** argv) {
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    if (n <= 0 || argc < 4)
        return 2;
    for (long i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            exec_cmd(argv + 3);
    }
    int failed = 0;
    for (long i = 0; i < n; ++i) {
        int status;
        if (wait(&status) < 0)
            die("wait");
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    return failed ? 1 : 0;
}

static int cmd_daemonize(int argc, char** argv) {
    if (argc < 4)
        return 2;
    int subreaper = atoi(argv[2]);
    if (subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
        die("PR_SET_CHILD_SUBREAPER");
    pid_t middle = fork();
    if (middle < 0)
        die("fork");
    if (middle == 0) {
        pid_t fork_ppid = getpid();
        pid_t orphan = fork();
        if (orphan < 0)
            die("fork");
        if (orphan == 0) {
            while (getppid() == fork_ppid)
                sleep_ms(1);
            say("orphan %d %d %d\n", getpid(), fork_ppid, getppid());
            exec_cmd(argv + 3);
        }
        _exit(0);
    }
    wait_child(middle);
    if (subreaper) // the orphan is ours now: reap it like an init would
        while (wait(NULL) > 0 || errno == EINTR)
            ;
    return 0;
}

static char** thread_cmd;

static void* exec_thread(void* arg) {
    (void)arg;
    say("thread %d %d\n", getpid(), (int)syscall(SYS_gettid));
    exec_cmd(thread_cmd);
    return NULL;
}

static int cmd_thread_exec(int argc, char** argv) {
    pthread_t t;
    if (argc < 3)
        return 2;
    thread_cmd = argv + 2;
    if (pthread_create(&t, NULL, exec_thread, NULL) != 0)
        die("pthread_create");
    for (;;)
        pause(); // exec replaces this thread's process image
}

static pid_t clone_with_pid(pid_t pid) {
    struct clone_args args;
    memset(&args, 0, sizeof(args));
    args.exit_signal = SIGCHLD;
    args.set_tid = (uint64_t)(uintptr_t)&pid;
    args.set_tid_size = 1;
    return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

static int cmd_reuse(int argc, char** argv) {
    if (argc < 3)
        return 2;
    char* old_cmd[] = {"/bin/true", "lineage-old", NULL};
    pid_t old = fork();
    if (old < 0)
        die("fork");
    if (old == 0)
        exec_cmd(old_cmd);
    wait_child(old);
    say("old %d\n", old);
    // Start times are kept at /proc's clock-tick precision: be a tick later.
    sleep_ms(30);
    pid_t parent = fork();
    if (parent < 0)
        die("fork");
    if (parent == 0) {
        pid_t again = clone_with_pid(old);
        if (again < 0) {
            say("reuse-failed %d\n", errno);
            _exit(1);
        }
        if (again == 0)
            exec_cmd(argv + 2);
        say("new %d %d\n", again, getpid());
        _exit(wait_child(again));
    }
    return wait_child(parent);
}

static int cmd_incgroup(int argc, char** argv) {
    if (argc < 4)
        return 2;
    char path[4096];
    snprintf(path, sizeof(path), "%s/cgroup.procs", argv[2]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1)
        die(path);
    close(fd);
    exec_cmd(argv + 3);
    return 111;
}

// One vfork'd child that exits at once; kept apart so no loop state lives
// in the frame the child shares.
static void churn_one(void) {
    pid_t pid = vfork();
    if (pid < 0)
        die("vfork");
    if (pid == 0)
        _exit(0);
    wait_child(pid);
}

static int cmd_churn(int argc, char** argv) {
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
    for (long i = 0; i < n; ++i)
        churn_one();
    return 0;
}

int main(int argc, char** argv) {
    ssize_t len = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
    if (len <= 0)
        die("readlink /proc/self/exe");
    self_path[len] = '\0';
    if (argc < 2)
        return 2;
    const char* cmd = argv[1];
    if (!strcmp(cmd, "chain"))
        return cmd_chain(argc, argv);
    if (!strcmp(cmd, "gate"))
        return cmd_gate(argc, argv);
    if (!strcmp(cmd, "spawn"))
        return argc > 2 ? spawn_and_wait(argv + 2) : 2;
    if (!strcmp(cmd, "block"))
        return cmd_block();
    if (!strcmp(cmd, "wide"))
        return cmd_wide(argc, argv);
    if (!strcmp(cmd, "daemonize"))
        return cmd_daemonize(argc, argv);
    if (!strcmp(cmd, "thread-exec"))
        return cmd_thread_exec(argc, argv);
    if (!strcmp(cmd, "reuse"))
        return cmd_reuse(argc, argv);
    if (!strcmp(cmd, "incgroup"))
        return cmd_incgroup(argc, argv);
    if (!strcmp(cmd, "churn"))
        return cmd_churn(argc, argv);
    fprintf(stderr, "lineage_tool: unknown command %s\n", cmd);
    return 2;
}
