/* SPDX-License-Identifier: MIT */
/*
 * trend.h - the least-squares straight line through (time, value) points
 * that tells a leak from a cache that follows the workload.
 *
 * The leak rule of doc/scan.md asks for a slope in bytes per hour, an R²
 * above 0.9 and growth that does not fall back after reclaim, the shape of
 * the NFS leak (kmalloc-16/32 growing about linearly for months, revert
 * db531db951f9; doc/incidents.md). trend_fit() gives all three: slope,
 * R² and the largest fall between consecutive points.
 *
 * The sums are taken around the means (two passes), so CLOCK_REALTIME
 * seconds (~1.8e9) squared lose nothing that matters to a double.
 */
#ifndef SW_CGROUPSCAN_TREND_H
#define SW_CGROUPSCAN_TREND_H

#include <stddef.h>

struct trend_point {
	double t_s; /* seconds, any origin; points in time order for max_drop */
	double value;
};

struct trend_fit {
	size_t n;
	double span_s; /* latest minus earliest t_s */
	double slope_per_s; /* value units per second */
	double intercept; /* value at t_s = 0 */
	double r2; /* coefficient of determination, 0..1; 0 when flat or undefined */
	double max_drop; /* largest fall between consecutive points (>= 0): a cache that "breathes" */
};

/*
 * Fit value = intercept + slope_per_s * t_s. Returns 0, or -EINVAL when
 * n < 2, every t_s is the same (zero span), or a coordinate is not finite.
 * *ret is only written on success.
 */
int trend_fit(const struct trend_point *p, size_t n, struct trend_fit *ret);

#endif
