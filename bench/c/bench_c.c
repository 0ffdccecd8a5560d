/*
 * The C-ABI driver of `make bench`: stratalog through include/stratalog.h,
 * linked against libstratalog.so like any C program. Same workloads, names
 * and output (one JSON line per measurement) as the Rust driver
 * (bench/rust/src/main.rs); bench/run.py collects them.
 *
 * Environment: BENCH_DATA, BENCH_SECONDS, BENCH_SEQ100, BENCH_SEQ4K.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stratalog.h"

#define STREAM_100 1
#define STREAM_4K 2
#define RANDOM_EVENTS 40
#define RANDOM_MAX_BYTES 4000

static const char *data_dir;
static double budget;
static uint64_t seq100, seq4k;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(stratalog_status st, const char *what) {
    if (st != STRATALOG_STATUS_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, stratalog_status_str(st), stratalog_last_error());
        exit(1);
    }
}

static void emit(const char *workload, double value, const char *unit) {
    printf("{\"system\":\"c\",\"workload\":\"%s\",\"value\":%.6f,\"unit\":\"%s\"}\n", workload, value, unit);
    fflush(stdout);
}

static char *path_of(const char *a, const char *b) {
    size_t n = strlen(data_dir) + strlen(a) + strlen(b) + 3;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s/%s", data_dir, a, b);
    return p;
}

static void remove_tree(const char *path) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", path);
        exit(1);
    }
}

/* `count` events of `size` bytes, the same bytes as every other driver. */
static stratalog_slice *make_events(size_t size, size_t count) {
    stratalog_slice *ev = calloc(count, sizeof *ev);
    for (size_t i = 0; i < count; i++) {
        uint8_t *b = malloc(size);
        for (size_t j = 0; j < size; j++) b[j] = (uint8_t)((i * 31 + j) % 251);
        ev[i].data = b;
        ev[i].len = size;
    }
    return ev;
}

static void free_events(stratalog_slice *ev, size_t count) {
    for (size_t i = 0; i < count; i++) free((void *)ev[i].data);
    free(ev);
}

static stratalog_store *open_fresh(const char *path) {
    remove_tree(path);
    stratalog_store *s = NULL;
    check(stratalog_open(path, NULL, &s), "open");
    return s;
}

static void append_cells(void) {
    static const size_t cells[6][2] = {{100, 1}, {100, 100}, {100, 1000}, {4096, 1}, {4096, 100}, {4096, 1000}};
    for (int fsync = 0; fsync <= 1; fsync++) {
        for (int c = 0; c < 6; c++) {
            size_t size = cells[c][0], batch = cells[c][1];
            stratalog_slice *ev = make_events(size, batch);
            char *path = path_of("scratch", "c");
            stratalog_store *s = open_fresh(path);
            uint64_t min = fsync ? 20 : 50, n = 0;
            /* Untimed warm-up, as every driver does for its append cells. */
            double start = now(), secs;
            for (uint64_t w = 0; w < 3 || now() - start < budget / 4; w++)
                check(stratalog_append_batch(s, 1, ev, batch, NULL, fsync ? STRATALOG_FSYNC_YES : STRATALOG_FSYNC_NO, NULL), "append");
            start = now();
            while (n < min || (secs = now() - start) < budget) {
                check(stratalog_append_batch(s, 1, ev, batch, NULL, fsync ? STRATALOG_FSYNC_YES : STRATALOG_FSYNC_NO, NULL), "append");
                n++;
            }
            secs = now() - start;
            stratalog_close(s);
            remove_tree(path);
            free(path);
            free_events(ev, batch);
            char name[64];
            snprintf(name, sizeof name, "append/%s/x%zu/%s", size == 4096 ? "4KiB" : "100B", batch,
                     fsync ? "fsync" : "nosync");
            emit(name, (double)(n * batch) / secs, "events/s");
        }
    }
}

struct worker {
    stratalog_store *store;
    const stratalog_slice *event;
    atomic_int *stop;
    uint64_t count;
};

static void *durable_worker(void *arg) {
    struct worker *w = arg;
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        check(stratalog_append_batch(w->store, 1, w->event, 1, NULL, STRATALOG_FSYNC_YES, NULL), "append");
        w->count++;
    }
    return NULL;
}

static void durable_cells(void) {
    static const int threads[3] = {1, 4, 16};
    stratalog_slice *ev = make_events(100, 1);
    for (int t = 0; t < 3; t++) {
        char *path = path_of("scratch", "c");
        stratalog_store *s = open_fresh(path);
        atomic_int stop = 0;
        struct worker w[16];
        pthread_t tid[16];
        double start = now();
        for (int i = 0; i < threads[t]; i++) {
            w[i] = (struct worker){s, ev, &stop, 0};
            pthread_create(&tid[i], NULL, durable_worker, &w[i]);
        }
        struct timespec ts = {(time_t)budget, (long)((budget - (double)(time_t)budget) * 1e9)};
        nanosleep(&ts, NULL);
        atomic_store(&stop, 1);
        uint64_t total = 0;
        for (int i = 0; i < threads[t]; i++) {
            pthread_join(tid[i], NULL);
            total += w[i].count;
        }
        double secs = now() - start;
        stratalog_close(s);
        remove_tree(path);
        free(path);
        char name[32];
        snprintf(name, sizeof name, "durable/%dt", threads[t]);
        emit(name, (double)total / secs, "events/s");
    }
    free_events(ev, 1);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t below(uint64_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

static void read_cells(void) {
    char *path = path_of("datasets", "stratalog");
    stratalog_store *s = NULL;
    check(stratalog_open_read_only(path, &s), "open_read_only");
    const uint64_t streams[2] = {STREAM_100, STREAM_4K};
    const uint64_t counts[2] = {seq100, seq4k};
    const char *names[2] = {"100B", "4KiB"};
    char name[64];
    for (int k = 0; k < 2; k++) {
        stratalog_iter *it = NULL;
        check(stratalog_iter_new(s, streams[k], 0, &it), "iter_new");
        double start = now();
        uint64_t n = 0, sum = 0;
        for (;;) {
            bool has = false;
            uint64_t off;
            const uint8_t *data;
            size_t len;
            check(stratalog_iter_next(it, &has, &off, &data, &len), "iter_next");
            if (!has) break;
            sum += data[len ? len - 1 : 0];
            n++;
        }
        double secs = now() - start;
        stratalog_iter_free(it);
        if (n != counts[k] || sum == 0) {
            fprintf(stderr, "read %llu events, expected %llu\n", (unsigned long long)n, (unsigned long long)counts[k]);
            exit(1);
        }
        snprintf(name, sizeof name, "read/seq/%s", names[k]);
        emit(name, (double)n / secs, "events/s");
    }
    uint64_t n = 0;
    double start = now(), secs;
    while (n < 100 || (secs = now() - start) < budget) {
        stratalog_events *ev = NULL;
        check(stratalog_read_from(s, STREAM_100, below(seq100 - RANDOM_EVENTS), RANDOM_MAX_BYTES, &ev), "read_from");
        if (stratalog_events_len(ev) != RANDOM_EVENTS) {
            fprintf(stderr, "random read returned %zu events\n", stratalog_events_len(ev));
            exit(1);
        }
        stratalog_events_free(ev);
        n++;
    }
    secs = now() - start;
    emit("read/random/100B", secs * 1e6 / (double)n, "us");
    for (int k = 0; k < 2; k++) {
        stratalog_verify_report r;
        double t0 = now();
        check(stratalog_verify(s, streams[k], &r), "verify");
        double secs2 = now() - t0;
        snprintf(name, sizeof name, "verify/%s", names[k]);
        emit(name, (double)r.events / secs2, "events/s");
    }
    stratalog_close(s);
    double total = 0;
    n = 0;
    start = now();
    while (n < 10 || now() - start < budget) {
        double t0 = now();
        stratalog_store *w = NULL;
        check(stratalog_open(path, NULL, &w), "open");
        total += now() - t0;
        check(stratalog_shutdown(w), "shutdown");
        stratalog_close(w);
        n++;
    }
    emit("open", total * 1e3 / (double)n, "ms");
    free(path);
}

int main(void) {
    data_dir = getenv("BENCH_DATA") ? getenv("BENCH_DATA") : "build/bench/data";
    budget = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 0.4;
    seq100 = getenv("BENCH_SEQ100") ? strtoull(getenv("BENCH_SEQ100"), NULL, 10) : 1000000;
    seq4k = getenv("BENCH_SEQ4K") ? strtoull(getenv("BENCH_SEQ4K"), NULL, 10) : 65536;
    append_cells();
    durable_cells();
    read_cells();
    return 0;
}
