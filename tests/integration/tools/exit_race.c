// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Processes whose threads all die at once, for the "one exit line per
 * process" test (tests/integration/pipeline_test.cpp).
 *
 *   exit_race N [PARALLEL]
 *
 * Starts N children, PARALLEL (default 4) at a time. Each child starts 8
 * threads; the 8 and the main thread meet at a barrier and then all call
 * exit_group(7) at once, so several threads reach the kernel's exit path
 * together. Prints "race PID" (its own pid) first, "child PID" for every child
 * once it is reaped, and exits 0 if every child exited with status 7.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { threads = 8, code = 7 };

static pthread_barrier_t barrier;

static void die_together(void) {
    pthread_barrier_wait(&barrier);
    syscall(SYS_exit_group, code);
}

static void* thread_main(void* arg) {
    (void)arg;
    die_together();
    return NULL;
}

static void child(void) {
    pthread_t t[threads];
    pthread_barrier_init(&barrier, NULL, threads + 1);
    for (int i = 0; i < threads; ++i)
        if (pthread_create(&t[i], NULL, thread_main, NULL) != 0)
            _exit(111);
    die_together();
    _exit(112); // not reached
}

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: exit_race N [PARALLEL]\n");
        return 2;
    }
    int total = atoi(argv[1]);
    int parallel = argc > 2 ? atoi(argv[2]) : 4;
    if (total < 1 || parallel < 1) {
        fprintf(stderr, "exit_race: N and PARALLEL must be positive\n");
        return 2;
    }
    printf("race %d\n", (int)getpid());
    fflush(stdout);
    int started = 0, running = 0, bad = 0;
    while (started < total || running > 0) {
        while (started < total && running < parallel) {
            pid_t pid = fork();
            if (pid < 0) {
                fprintf(stderr, "exit_race: fork: %s\n", strerror(errno));
                return 111;
            }
            if (pid == 0)
                child();
            ++started;
            ++running;
        }
        int status = 0;
        pid_t pid = wait(&status);
        if (pid < 0) {
            fprintf(stderr, "exit_race: wait: %s\n", strerror(errno));
            return 111;
        }
        --running;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != code)
            ++bad;
        printf("child %d\n", (int)pid);
    }
    fflush(stdout);
    return bad == 0 ? 0 : 1;
}
