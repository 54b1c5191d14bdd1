/*
 * Latency samples and their summary, shared by every measurement program in
 * bench/. Each program prints one JSON object per measurement on stdout
 * (bench/run reads them); human-readable notes go to stderr.
 *
 * Percentiles are nearest-rank over the sorted samples: p50 of 20,000 round
 * trips is the 10,000th smallest, never an interpolation or a histogram
 * bucket, so two runs can be compared number for number.
 */
#ifndef CG_BENCH_STATS_H
#define CG_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct bench_samples {
	uint64_t *ns;        /* one duration per sample, in nanoseconds */
	size_t n;
	size_t cap;
};

/* Allocates room for cap samples; exits the program if it cannot. */
void bench_samples_init(struct bench_samples *s, size_t cap);
void bench_samples_free(struct bench_samples *s);

/* Records one duration; samples past cap are dropped (callers size cap). */
void bench_samples_add(struct bench_samples *s, uint64_t ns);

/* Sorts in place, then answers nearest-rank percentiles (0 < p <= 100). */
void bench_samples_sort(struct bench_samples *s);
uint64_t bench_samples_percentile(const struct bench_samples *s, double p);

/*
 * Prints {"bench":name,"size":size,"n":..,"min_us":..,"p50_us":..,
 * "p90_us":..,"p99_us":..,"max_us":..,"mean_us":..} and a newline on out.
 * Sorts the samples first.
 */
void bench_report_latency(FILE *out, const char *name, size_t size,
    struct bench_samples *s);

/* The same with extra members (e.g. "\"same_cpu\":0.97"), or NULL. */
void bench_report_latency_extra(FILE *out, const char *name, size_t size,
    struct bench_samples *s, const char *extra);

/* Prints {"bench":name,"size":size,"n":count,"seconds":..,"per_s":..}. */
void bench_report_rate(FILE *out, const char *name, size_t size,
    uint64_t count, uint64_t elapsed_ns);

/* CLOCK_MONOTONIC in nanoseconds (the one clock every program uses). */
uint64_t bench_now_ns(void);

/* Parses a decimal count within [min, max]; exits with a message if it is
 * not one. what names the option for the message. */
uint64_t bench_parse_count(const char *arg, uint64_t min, uint64_t max,
    const char *what);

#endif
