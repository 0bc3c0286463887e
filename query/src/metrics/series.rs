//! Metric points → time series: per-stream increments (with counter resets), time buckets,
//! groups, and the aggregation asked for.
//!
//! This runs in Rust over the Arrow rows DataFusion returns rather than in SQL: turning
//! cumulative points into increments needs the previous point of the same stream
//! (`LAG` could do it for scalars) but also bucket-wise list differences, exponential
//! histogram rescaling and quantile interpolation, which are clearer and cheaper here.
//!
//! # Semantics
//! - A *stream* is one (service, point attributes, resource attributes) combination.
//! - Increments: a delta point is its own increment. A cumulative point's increment is
//!   its difference from the stream's previous point; when the start time changed or any
//!   count went down, the counter was reset and the increment is the point's whole value.
//!   The first point of a stream counts whole only if its start time is inside the query
//!   (the counter started there); otherwise it only serves as the base for the next one.
//! - `rate` = sum of increments in a bucket / bucket seconds (sums: value per second;
//!   histograms: observations per second). `sum` on a monotonic sum or histogram = sum of
//!   increments (of the observed values' sum for histograms).
//! - `avg`/`min`/`max` on gauges and sums use the reported values; `sum` on a gauge or
//!   non-monotonic sum adds each stream's mean in the bucket across the group. A delta
//!   non-monotonic sum (an up-down counter) reports its level: the running sum of its
//!   deltas from the first point read (15 minutes or one step before `from`), so its
//!   level is exact only when the stream starts inside that range.
//!   On histograms `avg` = Σsum / Σcount of the increments, `min`/`max` the extreme
//!   reported `min`/`max`.
//! - `pNN` on (exponential) histograms: the quantile of the merged increments (see
//!   [`super::hist`]).

use std::collections::{BTreeMap, HashMap};

use super::hist::{Explicit, Exponential};
use super::{Agg, Point, PointValue};

/// What one stream remembers of its previous point.
#[derive(Default)]
struct Previous {
    start: Option<i64>,
    value: Option<PointValue>,
    /// Running level of a delta non-monotonic sum (UpDownCounter).
    level: f64,
}

/// Accumulator of one (group, bucket).
#[derive(Default)]
struct Cell {
    /// Per stream: Σvalue, n (means for gauges).
    stream_values: HashMap<usize, (f64, u64)>,
    min: Option<f64>,
    max: Option<f64>,
    increment: f64,
    has_increment: bool,
    hist_count: u64,
    hist_sum: f64,
    explicit: Option<Explicit>,
    exponential: Option<Exponential>,
    mixed_bounds: bool,
}

fn fold_min(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

fn fold_max(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// The increment of `p` over `prev` in the same cumulative stream, `None` = reset (a
/// monotonic value or a histogram count went down). Non-monotonic sums never reset: a
/// decrease is a real negative change.
fn minus(p: &PointValue, prev: &PointValue, monotonic: bool) -> Option<PointValue> {
    match (p, prev) {
        (PointValue::Number(a), PointValue::Number(b)) if monotonic && a < b => None,
        (PointValue::Number(a), PointValue::Number(b)) => Some(PointValue::Number(a - b)),
        (
            PointValue::Explicit { h, count, sum },
            PointValue::Explicit {
                h: ph,
                count: pc,
                sum: ps,
            },
        ) => Some(PointValue::Explicit {
            h: h.minus(ph)?,
            count: count.checked_sub(*pc)?,
            sum: sum - ps,
        }),
        (
            PointValue::Exponential { h, count, sum },
            PointValue::Exponential {
                h: ph,
                count: pc,
                sum: ps,
            },
        ) => Some(PointValue::Exponential {
            h: h.minus(ph)?,
            count: count.checked_sub(*pc)?,
            sum: sum - ps,
        }),
        _ => None,
    }
}

/// A group's key values and one value (or none) per bucket.
pub(crate) type GroupSeries = (Vec<String>, Vec<Option<f64>>);

/// Buckets of width `step` from `from`; the output of [`compute`].
pub(crate) struct Buckets {
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) step: i64,
}

impl Buckets {
    fn len(&self) -> usize {
        ((self.to - self.from + self.step - 1) / self.step) as usize
    }

    fn index(&self, t: i64) -> Option<usize> {
        (t >= self.from && t < self.to).then(|| ((t - self.from) / self.step) as usize)
    }
}

/// Aggregates `points` (sorted by time) into one series per group.
/// Returns `(group key, values per bucket)` sorted by group, and whether any bucket mixed
/// histograms with different bounds (those buckets are null).
pub(crate) fn compute(
    points: &[Point],
    agg: Agg,
    monotonic: bool,
    buckets: &Buckets,
) -> (Vec<GroupSeries>, bool) {
    let n = buckets.len();
    let mut cells: BTreeMap<&[String], Vec<Cell>> = BTreeMap::new();
    let mut previous: HashMap<usize, Previous> = HashMap::new();
    for p in points {
        let prev = previous.entry(p.stream).or_default();
        // The value a reader sees: a delta up-down counter's level is the running sum.
        let mut reported = p.value.clone();
        let increment = if p.delta {
            if let (PointValue::Number(v), false) = (&p.value, monotonic) {
                prev.level += v;
                reported = PointValue::Number(prev.level);
            }
            Some(p.value.clone())
        } else {
            let same_start = prev.start == p.start;
            let inc = match (&prev.value, same_start) {
                (Some(pv), true) => {
                    minus(&p.value, pv, monotonic).or_else(|| Some(p.value.clone()))
                }
                (Some(_), false) => Some(p.value.clone()),
                // First point seen: whole value only if the counter started in range.
                (None, _) if p.start.is_some_and(|s| s >= buckets.from) => Some(p.value.clone()),
                (None, _) => None,
            };
            prev.start = p.start;
            prev.value = Some(p.value.clone());
            inc
        };
        let Some(bucket) = buckets.index(p.time) else {
            continue;
        };
        let row = cells
            .entry(p.group.as_slice())
            .or_insert_with(|| (0..n).map(|_| Cell::default()).collect());
        let cell = &mut row[bucket];
        cell.min = fold_min(cell.min, p.min);
        cell.max = fold_max(cell.max, p.max);
        if let PointValue::Number(v) = reported {
            let e = cell.stream_values.entry(p.stream).or_default();
            e.0 += v;
            e.1 += 1;
            cell.min = fold_min(cell.min, Some(v));
            cell.max = fold_max(cell.max, Some(v));
        }
        match increment {
            Some(PointValue::Number(v)) => {
                cell.increment += v;
                cell.has_increment = true;
            }
            Some(PointValue::Explicit { h, count, sum }) => {
                cell.hist_count += count;
                cell.hist_sum += sum;
                cell.has_increment = true;
                match &mut cell.explicit {
                    None => cell.explicit = Some(h),
                    Some(acc) => cell.mixed_bounds |= !acc.add(&h),
                }
            }
            Some(PointValue::Exponential { h, count, sum }) => {
                cell.hist_count += count;
                cell.hist_sum += sum;
                cell.has_increment = true;
                match &mut cell.exponential {
                    None => cell.exponential = Some(h),
                    Some(acc) => acc.add(&h),
                }
            }
            None => {}
        }
    }
    let step_s = buckets.step as f64 / 1e9;
    let mut mixed = false;
    let out = cells
        .into_iter()
        .map(|(group, row)| {
            let values = row
                .into_iter()
                .map(|c| {
                    mixed |= c.mixed_bounds;
                    let histogram = c.explicit.is_some() || c.exponential.is_some();
                    let means = || c.stream_values.values().map(|(s, n)| s / *n as f64);
                    match agg {
                        Agg::Min => c.min,
                        Agg::Max => c.max,
                        Agg::Rate if histogram => Some(c.hist_count as f64 / step_s),
                        Agg::Rate => c.has_increment.then_some(c.increment / step_s),
                        Agg::Avg if histogram => {
                            (c.hist_count > 0).then(|| c.hist_sum / c.hist_count as f64)
                        }
                        Agg::Avg => {
                            let k = c.stream_values.len();
                            (k > 0).then(|| means().sum::<f64>() / k as f64)
                        }
                        Agg::Sum if histogram => Some(c.hist_sum),
                        Agg::Sum if monotonic => c.has_increment.then_some(c.increment),
                        Agg::Sum => (!c.stream_values.is_empty()).then(|| means().sum()),
                        Agg::Quantile(_) if c.mixed_bounds => None,
                        Agg::Quantile(q) => match (&c.explicit, &c.exponential) {
                            (Some(h), _) => h.quantile(q),
                            (_, Some(h)) => h.quantile(q),
                            _ => None,
                        },
                    }
                })
                .collect();
            (group.to_vec(), values)
        })
        .collect();
    (out, mixed)
}
