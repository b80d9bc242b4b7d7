'use strict';

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** q-quantile (0..1) of numbers, nearest rank. */
function quantile(xs, q) {
  if (!xs.length) return null;
  const v = Float64Array.from(xs).sort();
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
}

module.exports = { median, quantile };
