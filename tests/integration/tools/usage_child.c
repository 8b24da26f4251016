// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A process whose threads burn CPU and exit before it does, for the exit
 * resource-usage test (tests/integration/usage_test.cpp), which compares the
 * exit line with what wait4() reports for this process.
 *
 *   usage_child MODE OUT
 *
 * Two threads each burn about 150 ms of user time and 150 ms of system time
 * (reads of /dev/zero), and the process touches 48 MiB.
 *   joined        the main thread joins both threads, then exits
 *   leader-first  the main thread ends first (pthread_exit): a zombie leader
 *                 until the last thread ends the process
 * OUT gets "START END" (CLOCK_MONOTONIC ns at main's start and just before
 * the process ends) written by the thread that ends it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { threads = 2 };
static const uint64_t burn_user_ns = 150000000, burn_system_ns = 150000000;

static const char* out_path;
static uint64_t started;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int running = threads;

static uint64_t now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_times(void) {
    FILE* f = fopen(out_path, "w");
    if (!f)
        exit(3);
    fprintf(f, "%llu %llu\n", (unsigned long long)started, (unsigned long long)now_ns(CLOCK_MONOTONIC));
    fclose(f);
}

static void* burn(void* arg) {
    static char buf[1 << 16];
    volatile uint64_t x = 0;
    int zero = open("/dev/zero", O_RDONLY);
    (void)arg;
    if (zero < 0)
        exit(4);
    uint64_t t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) - t0 < burn_user_ns)
        for (int i = 0; i < 100000; i++)
            x += (uint64_t)i * i;
    uint64_t t1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    while (now_ns(CLOCK_THREAD_CPUTIME_ID) - t1 < burn_system_ns)
        if (read(zero, buf, sizeof(buf)) < 0)
            exit(5);
    close(zero);
    pthread_mutex_lock(&lock);
    int last = --running == 0;
    pthread_mutex_unlock(&lock);
    if (last)
        write_times(); // leader-first: this thread's return ends the process
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 3)
        return 2;
    started = now_ns(CLOCK_MONOTONIC);
    out_path = argv[2];
    // Peak RSS: 48 MiB touched, then given back (the peak stays).
    size_t rss = 48u << 20;
    char* mem = mmap(NULL, rss, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 6;
    memset(mem, 1, rss);
    munmap(mem, rss);
    pthread_t t[threads];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, burn, NULL) != 0)
            return 7;
    if (strcmp(argv[1], "leader-first") == 0)
        pthread_exit(NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    write_times();
    return 0;
}
