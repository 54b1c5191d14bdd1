/*
 * The percentile code every benchmark figure goes through: nearest rank over
 * sorted samples, so a p50 or p99 in docs/PERFORMANCE.md is one measured
 * sample, never an interpolation.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "bench/stats.h"

static void
fill(struct bench_samples *s, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bench_samples_add(s, v[i]);
}

Test(stats, nearest_rank_on_one_to_hundred)
{
	struct bench_samples s;

	bench_samples_init(&s, 100);
	/* Added in reverse so the sort matters. */
	for (uint64_t v = 100; v >= 1; v--)
		bench_samples_add(&s, v);
	bench_samples_sort(&s);
	cr_assert_eq(bench_samples_percentile(&s, 50), 50);
	cr_assert_eq(bench_samples_percentile(&s, 90), 90);
	cr_assert_eq(bench_samples_percentile(&s, 99), 99);
	cr_assert_eq(bench_samples_percentile(&s, 100), 100);
	cr_assert_eq(bench_samples_percentile(&s, 0.5), 1);
	bench_samples_free(&s);
}

Test(stats, rank_rounds_up_never_down)
{
	static const uint64_t v[] = { 7, 3, 5 };
	struct bench_samples s;

	bench_samples_init(&s, 3);
	fill(&s, v, 3);
	bench_samples_sort(&s);
	/* 50% of 3 samples is 1.5: the 2nd smallest covers it, the 1st does not. */
	cr_assert_eq(bench_samples_percentile(&s, 50), 5);
	cr_assert_eq(bench_samples_percentile(&s, 34), 5);
	cr_assert_eq(bench_samples_percentile(&s, 33), 3);
	cr_assert_eq(bench_samples_percentile(&s, 99), 7);
	bench_samples_free(&s);
}

Test(stats, exact_rank_boundaries_of_twenty_thousand)
{
	struct bench_samples s;

	bench_samples_init(&s, 20000);
	for (uint64_t v = 1; v <= 20000; v++)
		bench_samples_add(&s, v * 10);
	bench_samples_sort(&s);
	cr_assert_eq(bench_samples_percentile(&s, 50), 10000 * 10);
	cr_assert_eq(bench_samples_percentile(&s, 99), 19800 * 10);
	bench_samples_free(&s);
}

Test(stats, empty_and_overflow)
{
	struct bench_samples s;

	bench_samples_init(&s, 2);
	cr_assert_eq(bench_samples_percentile(&s, 50), 0);
	bench_samples_add(&s, 1);
	bench_samples_add(&s, 2);
	bench_samples_add(&s, 1000);   /* past cap: dropped, not written */
	cr_assert_eq(s.n, 2);
	bench_samples_sort(&s);
	cr_assert_eq(bench_samples_percentile(&s, 100), 2);
	bench_samples_free(&s);
	bench_samples_free(NULL);
}
