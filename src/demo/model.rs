//! The simulated shop's world: seeded randomness, the traffic shape over time, latency
//! distributions, and the schedule of deploys and incidents.
//!
//! Everything here is a pure function of the seed and a time index (a minute, a day), so
//! any stretch of time can be generated on its own, in parallel, and comes out the same.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub(crate) const NS_PER_S: i64 = 1_000_000_000;
pub(crate) const NS_PER_MIN: i64 = 60 * NS_PER_S;
pub(crate) const NS_PER_DAY: i64 = 86_400 * NS_PER_S;
const NS_PER_WEEK: i64 = 7 * NS_PER_DAY;

/// Traffic grows this much per week (relative to `--until`).
const WEEKLY_GROWTH: f64 = 1.04;

/// Independent random streams; each is keyed by (seed, stream, index).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// Traffic of one minute of history (index: minute since the epoch).
    Minute = 1,
    /// Deploys and incidents of one day (index: day since the epoch).
    Day = 2,
    /// Traffic of one minute of live time.
    Live = 3,
}

/// A reproducible RNG for one (seed, stream, index): ChaCha8 is value-stable across
/// platforms and `rand_chacha` releases.
pub(crate) fn rng(seed: u64, stream: Stream, index: i64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&index.to_le_bytes());
    key[16] = stream as u8;
    ChaCha8Rng::from_seed(key)
}

/// A uniform float in (0, 1].
fn open01(rng: &mut ChaCha8Rng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// A standard normal variate (Box–Muller; one of the pair is discarded for simplicity).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let (u1, u2) = (open01(rng), rng.random::<f64>());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson variate: Knuth's method for small means, a rounded normal for large ones.
pub(crate) fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        return (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u64;
    }
    let limit = (-mean).exp();
    let (mut k, mut p) = (0u64, open01(rng));
    while p > limit {
        k += 1;
        p *= open01(rng);
    }
    k
}

/// Whether an event of probability `p` happens.
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A latency distribution: a lognormal body and, with probability `tail`, a Pareto
/// (α = 1.3) multiplier capped at 40×, the slow requests every real service has.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latency {
    pub median_ms: f64,
    pub sigma: f64,
    pub tail: f64,
}

impl Latency {
    pub(crate) const fn new(median_ms: f64, sigma: f64, tail: f64) -> Self {
        Self {
            median_ms,
            sigma,
            tail,
        }
    }

    /// A duration in ns, stretched by `factor` (load, incidents).
    pub(crate) fn sample(&self, rng: &mut ChaCha8Rng, factor: f64) -> i64 {
        let mut ms = self.median_ms * (self.sigma * normal(rng)).exp();
        if chance(rng, self.tail) {
            ms *= open01(rng).powf(-1.0 / 1.3).min(40.0);
        }
        (ms * factor * 1e6).max(1_000.0) as i64
    }
}

/// Requests relative to the weekly peak at `until`: daily cycle × weekly cycle × growth.
/// Times are UTC; the shop's customers are in one region.
pub(crate) fn traffic(t_ns: i64, until_ns: i64) -> f64 {
    let hour = (t_ns.rem_euclid(NS_PER_DAY)) as f64 / (3_600.0 * 1e9);
    // Quiet at 04:00, busy afternoon peaking around 16:00, an evening shoulder at 20:30.
    let day = 0.5 - 0.5 * (std::f64::consts::TAU * (hour - 4.0) / 24.0).cos();
    let evening = (-((hour - 20.5) / 1.2).powi(2)).exp();
    let diurnal = 0.1 + 0.8 * day.powf(1.5) + 0.12 * evening;
    // 1970-01-01 was a Thursday; 0 = Monday.
    let weekday = (t_ns.div_euclid(NS_PER_DAY) + 3).rem_euclid(7);
    let weekly = [1.0, 1.0, 0.98, 0.97, 0.9, 0.72, 0.78][weekday as usize];
    let growth = WEEKLY_GROWTH.powf((t_ns - until_ns) as f64 / NS_PER_WEEK as f64);
    diurnal * weekly * growth
}

/// Services of the shop, in a fixed order (used as an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Svc {
    Frontend,
    Auth,
    Catalog,
    Search,
    Checkout,
    Payments,
}

impl Svc {
    pub(crate) const ALL: [Svc; 6] = [
        Svc::Frontend,
        Svc::Auth,
        Svc::Catalog,
        Svc::Search,
        Svc::Checkout,
        Svc::Payments,
    ];

    pub(crate) fn name(self) -> &'static str {
        [
            "frontend", "auth", "catalog", "search", "checkout", "payments",
        ][self as usize]
    }
}

/// An incident visible in the data, reported so users (and tests) know where to look.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// `error_burst` or `latency_regression`.
    pub kind: &'static str,
    pub service: &'static str,
    pub start_ns: i64,
    pub end_ns: i64,
    /// `start_ns` and `end_ns` as RFC 3339.
    pub start: String,
    pub end: String,
    pub description: &'static str,
}

/// What happens on one day: deploys (a restart with a new version) and incidents.
#[derive(Debug, Clone, Default)]
pub(crate) struct DayPlan {
    /// Deploy time per service, if it deployed that day.
    pub deploys: [Option<i64>; 6],
    /// Payments fails charges often: the card processor is unreliable.
    pub error_burst: Option<(i64, i64)>,
    /// A catalog release makes queries slow until it is rolled back (a second deploy).
    pub regression: Option<(i64, i64)>,
}

impl DayPlan {
    /// The plan of day `day` (days since the epoch). Weekdays have deploys; about one day
    /// in four has an error burst and one in six a latency regression.
    pub(crate) fn new(seed: u64, day: i64) -> Self {
        let mut rng = rng(seed, Stream::Day, day);
        let start = day * NS_PER_DAY;
        let weekday = (day + 3).rem_euclid(7);
        let mut plan = DayPlan::default();
        // Always draw the same numbers in the same order, whatever the weekday.
        for svc in Svc::ALL {
            let deploys = chance(&mut rng, 0.3);
            let at = start + (9.0 * 3600.0 + rng.random::<f64>() * 8.0 * 3600.0) as i64 * NS_PER_S;
            if deploys && weekday < 5 {
                plan.deploys[svc as usize] = Some(at);
            }
        }
        let burst = chance(&mut rng, 0.25);
        let b_start = start + (8.0 * 60.0 + rng.random::<f64>() * 13.0 * 60.0) as i64 * NS_PER_MIN;
        let b_len = (20.0 + rng.random::<f64>() * 20.0) as i64 * NS_PER_MIN;
        if burst {
            plan.error_burst = Some((b_start, b_start + b_len));
        }
        let regression = chance(&mut rng, 0.17);
        let r_start = start + (10.0 * 60.0 + rng.random::<f64>() * 5.0 * 60.0) as i64 * NS_PER_MIN;
        let r_len = (120.0 + rng.random::<f64>() * 180.0) as i64 * NS_PER_MIN;
        if regression && weekday < 5 {
            plan.regression = Some((r_start, r_start + r_len));
            // The bad release is a catalog deploy; the rollback is another one, at the end
            // (within the day: a regression starts by 15:00 and lasts at most 5 h).
            plan.deploys[Svc::Catalog as usize] = Some(r_start);
        }
        plan
    }

    /// Deploys of the day in time order, with the rollback of a regression.
    pub(crate) fn restarts(&self) -> Vec<(Svc, i64)> {
        let mut out: Vec<(Svc, i64)> = Svc::ALL
            .iter()
            .filter_map(|&s| self.deploys[s as usize].map(|t| (s, t)))
            .collect();
        if let Some((_, end)) = self.regression {
            out.push((Svc::Catalog, end));
        }
        out.sort_by_key(|&(_, t)| t);
        out
    }

    pub(crate) fn incidents(&self) -> Vec<Incident> {
        let mut out = Vec::new();
        if let Some((start_ns, end_ns)) = self.error_burst {
            out.push(Incident {
                kind: "error_burst",
                service: "payments",
                start_ns,
                end_ns,
                start: super::rfc3339(start_ns),
                end: super::rfc3339(end_ns),
                description: "the card processor fails about 40% of charges",
            });
        }
        if let Some((start_ns, end_ns)) = self.regression {
            out.push(Incident {
                kind: "latency_regression",
                service: "catalog",
                start_ns,
                end_ns,
                start: super::rfc3339(start_ns),
                end: super::rfc3339(end_ns),
                description: "a catalog release slows product queries ~4x (search and browse too) until rolled back",
            });
        }
        out
    }
}

/// Incidents that overlap `[from_ns, to_ns)`, by start time.
pub fn incidents(seed: u64, from_ns: i64, to_ns: i64) -> Vec<Incident> {
    let mut out: Vec<Incident> = (from_ns.div_euclid(NS_PER_DAY)
        ..=(to_ns - 1).div_euclid(NS_PER_DAY))
        .flat_map(|d| DayPlan::new(seed, d).incidents())
        .filter(|i| i.start_ns < to_ns && i.end_ns > from_ns)
        .collect();
    out.sort_by_key(|i| i.start_ns);
    out
}

/// The release of a service at time `t`: `1.<week>.<n>` after its n-th deploy of that week
/// (weeks since the epoch, mod 100), so versions change exactly at deploys.
pub(crate) fn version(seed: u64, svc: Svc, t_ns: i64) -> String {
    let day = t_ns.div_euclid(NS_PER_DAY);
    let deploys = |d: i64| {
        DayPlan::new(seed, d)
            .restarts()
            .into_iter()
            .filter(move |&(s, at)| s == svc && at <= t_ns)
    };
    // Deploys happen on about 30% of weekdays: look back at most 60 days.
    let Some((last_day, last)) = (day - 60..=day)
        .rev()
        .find_map(|d| deploys(d).next_back().map(|(_, at)| (d, at)))
    else {
        return "1.0.0".into();
    };
    let week = (last_day + 3).div_euclid(7);
    let monday = week * 7 - 3;
    let n = (monday..=last_day)
        .flat_map(deploys)
        .filter(|&(_, at)| at <= last)
        .count();
    format!("1.{}.{n}", week.rem_euclid(100))
}

/// [`version`], memoized for one day at a time (deploys happen a few times a day at most).
#[derive(Debug)]
pub(crate) struct Versions {
    seed: u64,
    day: i64,
    /// Per service: (from, version) in time order, the first from the day's start.
    by_svc: [Vec<(i64, Arc<str>)>; 6],
}

impl Versions {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            day: i64::MIN,
            by_svc: Default::default(),
        }
    }

    pub(crate) fn at(&mut self, svc: Svc, t_ns: i64) -> Arc<str> {
        let day = t_ns.div_euclid(NS_PER_DAY);
        if day != self.day {
            let start = day * NS_PER_DAY;
            let restarts = DayPlan::new(self.seed, day).restarts();
            for s in Svc::ALL {
                let at_start = (start, Arc::from(version(self.seed, s, start)));
                let later = restarts
                    .iter()
                    .filter(|&&(r, at)| r == s && at > start)
                    .map(|&(_, at)| (at, Arc::from(version(self.seed, s, at))));
                self.by_svc[s as usize] = std::iter::once(at_start).chain(later).collect();
            }
            self.day = day;
        }
        let list = &self.by_svc[svc as usize];
        let i = list.partition_point(|(from, _)| *from <= t_ns).max(1) - 1;
        Arc::clone(&list[i].1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_has_daily_and_weekly_cycles_and_growth() {
        let monday = 4 * NS_PER_DAY; // 1970-01-05
        let at = |d: i64, h: i64| traffic(monday + d * NS_PER_DAY + h * 3_600 * NS_PER_S, 0);
        assert!(at(0, 16) > 4.0 * at(0, 4));
        assert!(at(0, 16) > at(6, 16) * 1.2);
        let week = 7 * NS_PER_DAY;
        assert!(traffic(0, 0) > traffic(-week, 0) * 1.03);
        let peak = (0..24 * 7).map(|h| at(0, h)).fold(0.0, f64::max);
        assert!((0.9..=1.1).contains(&peak), "peak {peak}");
    }

    #[test]
    fn plans_are_deterministic_and_incidents_occur() {
        let days = 0..200;
        let plans: Vec<_> = days
            .clone()
            .map(|d| DayPlan::new(7, d).incidents())
            .collect();
        let again: Vec<_> = days.map(|d| DayPlan::new(7, d).incidents()).collect();
        assert_eq!(plans, again);
        let n = |k: &str| plans.iter().flatten().filter(|i| i.kind == k).count();
        assert!(
            (20..=80).contains(&n("error_burst")),
            "{}",
            n("error_burst")
        );
        assert!((10..=40).contains(&n("latency_regression")));
    }

    #[test]
    fn versions_change_exactly_at_deploys() {
        let hour = 3_600 * NS_PER_S;
        let restarts: Vec<i64> = (100..130)
            .flat_map(|d| DayPlan::new(1, d).restarts())
            .filter(|&(s, _)| s == Svc::Catalog)
            .map(|(_, t)| t)
            .collect();
        assert!(restarts.len() >= 3, "{restarts:?}");
        let mut changes = 0;
        for h in 100 * 24 + 1..130 * 24 {
            let (a, b) = ((h - 1) * hour, h * hour);
            let deployed = restarts.iter().any(|&t| a < t && t <= b);
            let changed = version(1, Svc::Catalog, a) != version(1, Svc::Catalog, b);
            assert_eq!(deployed, changed, "hour {h}");
            changes += usize::from(changed);
        }
        assert!(changes >= 3);
        let mut cache = Versions::new(1);
        for h in (100 * 24..130 * 24).step_by(7) {
            let t = h * hour + 123;
            assert_eq!(*cache.at(Svc::Catalog, t), version(1, Svc::Catalog, t));
        }
    }

    #[test]
    fn poisson_and_latency_are_plausible() {
        let mut r = rng(3, Stream::Minute, 0);
        let n = 20_000;
        let mean = (0..n).map(|_| poisson(&mut r, 4.0)).sum::<u64>() as f64 / n as f64;
        assert!((3.9..4.1).contains(&mean), "{mean}");
        let lat = Latency::new(10.0, 0.4, 0.01);
        let mut v: Vec<i64> = (0..n).map(|_| lat.sample(&mut r, 1.0)).collect();
        v.sort_unstable();
        let p50 = v[n / 2] as f64 / 1e6;
        let p999 = v[n * 999 / 1000] as f64 / 1e6;
        assert!((9.0..11.0).contains(&p50), "{p50}");
        assert!(p999 > 5.0 * p50, "{p999}");
    }
}
