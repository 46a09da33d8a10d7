/* What the C limit benchmarks share: a monotonic clock, rounds of calibrated batches, and the result line. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_ROUND_SECONDS 0.03
#define BENCH_ROUNDS 15
#define BENCH_MAX_ROUNDS 64

typedef int (*bench_call)(void *state);

static inline double bench_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static inline int bench_smoke(void)
{
    const char *smoke = getenv("BENCH_SMOKE");
    return smoke != NULL && strcmp(smoke, "1") == 0;
}

static inline int bench_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs `call` `calls` times; 0 when one of them failed. */
static inline int bench_batch(bench_call call, void *state, long calls)
{
    for (long i = 0; i < calls; i++)
        if (!call(state))
            return 0;
    return 1;
}

/* Microseconds per call, one sample per round; prints the result line. 0 when a call failed. */
static inline int bench_per_call(const char *name, bench_call call, void *state)
{
    long calls = 3;
    int rounds = 3;
    if (!bench_smoke()) {
        rounds = BENCH_ROUNDS;
        for (calls = 1;; calls *= 2) {
            double started = bench_now();
            if (!bench_batch(call, state, calls))
                return 0;
            double elapsed = bench_now() - started;
            if (elapsed >= BENCH_ROUND_SECONDS / 10) {
                calls = (long)((double)calls * BENCH_ROUND_SECONDS / elapsed);
                break;
            }
        }
        if (calls < 1)
            calls = 1;
        if (!bench_batch(call, state, calls * 5)) /* warm the caches and the clock before the samples */
            return 0;
    }
    double samples[BENCH_MAX_ROUNDS];
    for (int round = 0; round < rounds; round++) {
        double started = bench_now();
        if (!bench_batch(call, state, calls))
            return 0;
        samples[round] = (bench_now() - started) * 1e6 / (double)calls;
    }
    qsort(samples, (size_t)rounds, sizeof samples[0], bench_compare);
    double median = rounds % 2 ? samples[rounds / 2] : (samples[rounds / 2 - 1] + samples[rounds / 2]) / 2;
    printf("result\t%s\t%.4f\t%.4f\t%.4f\tus\n", name, median, samples[0], samples[rounds - 1]);
    fflush(stdout);
    return 1;
}

/* Reads a whole file into a fresh allocation the caller frees; NULL on failure. */
static inline char *bench_read_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    size_t capacity = 4096, used = 0;
    char *bytes = malloc(capacity);
    while (bytes != NULL) {
        used += fread(bytes + used, 1, capacity - used, file);
        if (used < capacity)
            break;
        char *grown = realloc(bytes, capacity * 2);
        if (grown == NULL) {
            free(bytes);
            bytes = NULL;
            break;
        }
        bytes = grown;
        capacity *= 2;
    }
    int failed = ferror(file);
    fclose(file);
    if (failed) {
        free(bytes);
        return NULL;
    }
    *length = used;
    return bytes;
}

#endif
