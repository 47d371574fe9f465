/* SPDX-License-Identifier: MIT */
#include "trend.h"

#include <errno.h>
#include <math.h> /* isfinite() only: a macro, no -lm */

int trend_fit(const struct trend_point *p, size_t n, struct trend_fit *ret)
{
	double t_sum = 0, v_sum = 0, t_mean, v_mean;
	double sxx = 0, sxy = 0, syy = 0, max_drop = 0;
	double t_min, t_max, v_min, v_max;

	if (!p || !ret || n < 2)
		return -EINVAL;

	t_min = t_max = p[0].t_s;
	v_min = v_max = p[0].value;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(p[i].t_s) || !isfinite(p[i].value))
			return -EINVAL;
		t_sum += p[i].t_s;
		v_sum += p[i].value;
		if (p[i].t_s < t_min)
			t_min = p[i].t_s;
		if (p[i].t_s > t_max)
			t_max = p[i].t_s;
		if (p[i].value < v_min)
			v_min = p[i].value;
		if (p[i].value > v_max)
			v_max = p[i].value;
		if (i > 0 && p[i - 1].value - p[i].value > max_drop)
			max_drop = p[i - 1].value - p[i].value;
	}
	if (t_max == t_min)
		return -EINVAL;

	t_mean = t_sum / (double)n;
	v_mean = v_sum / (double)n;
	for (size_t i = 0; i < n; i++) {
		double dt = p[i].t_s - t_mean, dv = p[i].value - v_mean;

		sxx += dt * dt;
		sxy += dt * dv;
		syy += dv * dv;
	}
	if (!(sxx > 0))
		return -EINVAL;

	*ret = (struct trend_fit){
		.n = n,
		.span_s = t_max - t_min,
		.max_drop = max_drop,
	};
	/*
	 * All values equal: the mean of equal doubles need not be exactly that
	 * double, so syy may be a rounding residue; say flat outright.
	 */
	if (v_min == v_max) {
		ret->slope_per_s = 0;
		ret->intercept = v_min;
		ret->r2 = 0;
		return 0;
	}
	ret->slope_per_s = sxy / sxx;
	ret->intercept = v_mean - ret->slope_per_s * t_mean;
	ret->r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 0;
	if (!isfinite(ret->r2) || ret->r2 < 0)
		ret->r2 = 0;
	else if (ret->r2 > 1)
		ret->r2 = 1;
	return 0;
}
