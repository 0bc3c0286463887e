//! Histogram arithmetic for metric series: increments between cumulative points, merging,
//! and quantiles interpolated from buckets.
//!
//! # Quantiles
//! As Prometheus' `histogram_quantile`: the rank `q · total` is located in the cumulative
//! bucket counts and the value is interpolated linearly inside that bucket. For explicit
//! bounds the first bucket starts at 0 (or at its upper bound when that is ≤ 0) and a rank
//! that lands in the `+Inf` bucket answers the largest finite bound. Exponential buckets
//! have exact bounds (`base^i`, `base^(i+1)`] with `base = 2^(2^-scale)`; the zero bucket
//! answers 0.

use std::collections::BTreeMap;

/// An explicit-bucket histogram: `counts.len() == bounds.len() + 1`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Explicit {
    pub(crate) bounds: Vec<f64>,
    pub(crate) counts: Vec<u64>,
}

impl Explicit {
    /// `self − prev` bucket by bucket, or `None` when `prev` cannot precede `self` in one
    /// cumulative stream (other bounds, or a count went down: a reset).
    pub(crate) fn minus(&self, prev: &Explicit) -> Option<Explicit> {
        if self.bounds != prev.bounds || self.counts.len() != prev.counts.len() {
            return None;
        }
        let counts = self
            .counts
            .iter()
            .zip(&prev.counts)
            .map(|(a, b)| a.checked_sub(*b))
            .collect::<Option<Vec<_>>>()?;
        Some(Explicit {
            bounds: self.bounds.clone(),
            counts,
        })
    }

    /// Adds `other` into `self`; false if the bounds differ.
    pub(crate) fn add(&mut self, other: &Explicit) -> bool {
        if self.bounds != other.bounds || self.counts.len() != other.counts.len() {
            return false;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        true
    }

    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = q * total as f64;
        let mut before = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 && (before + c) as f64 >= rank {
                let Some(&upper) = self.bounds.get(i) else {
                    // The +Inf bucket.
                    return self.bounds.last().copied().or(Some(0.0));
                };
                let lower = match i {
                    0 if upper > 0.0 => 0.0,
                    0 => return Some(upper),
                    _ => self.bounds[i - 1],
                };
                let within = ((rank - before as f64) / c as f64).clamp(0.0, 1.0);
                return Some(lower + (upper - lower) * within);
            }
            before += c;
        }
        self.bounds.last().copied()
    }
}

/// An exponential histogram with sparse buckets keyed by index at `scale`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Exponential {
    pub(crate) scale: i32,
    pub(crate) zero: u64,
    pub(crate) positive: BTreeMap<i32, u64>,
    pub(crate) negative: BTreeMap<i32, u64>,
}

fn downscale_map(map: &BTreeMap<i32, u64>, by: i32) -> BTreeMap<i32, u64> {
    let mut out = BTreeMap::new();
    for (&i, &c) in map {
        // Arithmetic shift: floor division by 2^by, right for negative indices too.
        *out.entry(i >> by).or_insert(0) += c;
    }
    out
}

impl Exponential {
    /// Dense OTLP buckets (`offset`, counts) → sparse map.
    pub(crate) fn buckets(offset: i32, counts: &[u64]) -> BTreeMap<i32, u64> {
        counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(k, c)| (offset + k as i32, *c))
            .collect()
    }

    /// The same histogram at a coarser (smaller) `scale`.
    pub(crate) fn downscaled(&self, scale: i32) -> Exponential {
        if scale >= self.scale {
            // Only the bucket-less histogram can be asked to refine: relabel it.
            return Exponential {
                scale: if self.zero_only() { scale } else { self.scale },
                ..self.clone()
            };
        }
        let by = self.scale - scale;
        Exponential {
            scale,
            zero: self.zero,
            positive: downscale_map(&self.positive, by),
            negative: downscale_map(&self.negative, by),
        }
    }

    /// Whether only the zero bucket holds counts (the scale then says nothing).
    fn zero_only(&self) -> bool {
        self.positive.is_empty() && self.negative.is_empty()
    }

    /// The scale two histograms can be combined at: the coarser one, ignoring a histogram
    /// without buckets (SDKs report any scale for those).
    fn common_scale(&self, other: &Exponential) -> i32 {
        match (self.zero_only(), other.zero_only()) {
            (true, false) => other.scale,
            (false, true) => self.scale,
            _ => self.scale.min(other.scale),
        }
    }

    /// `self − prev`, or `None` on a reset (some count went down).
    pub(crate) fn minus(&self, prev: &Exponential) -> Option<Exponential> {
        let scale = self.common_scale(prev);
        let (a, b) = (self.downscaled(scale), prev.downscaled(scale));
        let sub = |x: &BTreeMap<i32, u64>, y: &BTreeMap<i32, u64>| {
            let mut out = x.clone();
            for (i, c) in y {
                let slot = out.get_mut(i)?;
                *slot = slot.checked_sub(*c)?;
            }
            Some(out)
        };
        Some(Exponential {
            scale,
            zero: a.zero.checked_sub(b.zero)?,
            positive: sub(&a.positive, &b.positive)?,
            negative: sub(&a.negative, &b.negative)?,
        })
    }

    /// Adds `other` into `self`, downscaling to the coarser of the two scales.
    pub(crate) fn add(&mut self, other: &Exponential) {
        let scale = self.common_scale(other);
        let mut merged = self.downscaled(scale);
        let other = other.downscaled(scale);
        merged.zero += other.zero;
        for (i, c) in other.positive {
            *merged.positive.entry(i).or_insert(0) += c;
        }
        for (i, c) in other.negative {
            *merged.negative.entry(i).or_insert(0) += c;
        }
        *self = merged;
    }

    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        let total =
            self.zero + self.positive.values().sum::<u64>() + self.negative.values().sum::<u64>();
        if total == 0 {
            return None;
        }
        let base = 2f64.powf(2f64.powi(-self.scale));
        let rank = q * total as f64;
        let mut before = 0u64;
        let interpolate = |lower: f64, upper: f64, before: u64, c: u64| {
            lower + (upper - lower) * ((rank - before as f64) / c as f64).clamp(0.0, 1.0)
        };
        // Most negative first: bucket i holds (-(base^(i+1)), -(base^i)].
        for (&i, &c) in self.negative.iter().rev() {
            if (before + c) as f64 >= rank {
                return Some(interpolate(-base.powi(i + 1), -base.powi(i), before, c));
            }
            before += c;
        }
        if self.zero > 0 && (before + self.zero) as f64 >= rank {
            return Some(0.0);
        }
        before += self.zero;
        for (&i, &c) in &self.positive {
            if (before + c) as f64 >= rank {
                return Some(interpolate(base.powi(i), base.powi(i + 1), before, c));
            }
            before += c;
        }
        self.positive.keys().last().map(|&i| base.powi(i + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_quantiles_interpolate_like_prometheus() {
        // 10 in (0,1], 30 in (1,2], 60 in (2,4], 0 in +Inf.
        let h = Explicit {
            bounds: vec![1.0, 2.0, 4.0],
            counts: vec![10, 30, 60, 0],
        };
        assert_eq!(h.quantile(0.05), Some(0.5));
        assert_eq!(h.quantile(0.25), Some(1.5));
        assert_eq!(h.quantile(0.7), Some(3.0));
        let inf = Explicit {
            bounds: vec![1.0],
            counts: vec![1, 9],
        };
        assert_eq!(inf.quantile(0.99), Some(1.0));
        assert_eq!(
            Explicit {
                bounds: vec![1.0],
                counts: vec![0, 0]
            }
            .quantile(0.5),
            None
        );
    }

    #[test]
    fn explicit_minus_detects_resets() {
        let a = Explicit {
            bounds: vec![1.0],
            counts: vec![5, 5],
        };
        let b = Explicit {
            bounds: vec![1.0],
            counts: vec![7, 6],
        };
        assert_eq!(b.minus(&a).map(|d| d.counts), Some(vec![2, 1]));
        assert_eq!(a.minus(&b), None);
    }

    #[test]
    fn exponential_quantiles_and_downscale() {
        // scale 0: base 2. Bucket 0 = (1,2], bucket 1 = (2,4].
        let h = Exponential {
            scale: 0,
            zero: 0,
            positive: BTreeMap::from([(0, 50), (1, 50)]),
            negative: BTreeMap::new(),
        };
        assert_eq!(h.quantile(0.25), Some(1.5));
        assert_eq!(h.quantile(0.75), Some(3.0));
        // scale 1: base √2; indices 0..3 fold into scale-0 indices 0,0,1,1.
        let fine = Exponential {
            scale: 1,
            zero: 2,
            positive: BTreeMap::from([(0, 1), (1, 2), (2, 3), (3, 4), (-1, 5)]),
            negative: BTreeMap::from([(0, 1)]),
        };
        let coarse = fine.downscaled(0);
        assert_eq!(coarse.positive, BTreeMap::from([(-1, 5), (0, 3), (1, 7)]));
        let mut sum = h.clone();
        sum.add(&fine);
        assert_eq!(sum.scale, 0);
        assert_eq!(sum.positive, BTreeMap::from([(-1, 5), (0, 53), (1, 57)]));
        // Lowest rank is in the negative bucket (-√2, -1].
        let low = fine.quantile(0.0).expect("non-empty");
        assert!((-1.5..=-1.0).contains(&low), "{low}");
        assert_eq!(
            fine.minus(&fine).map(|d| d.positive.values().sum::<u64>()),
            Some(0)
        );
    }
}
