//! Simulates the shop's requests minute by minute into span and log records.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::model::{self, DayPlan, NS_PER_DAY, NS_PER_MIN, Stream, Svc, Versions, chance, poisson};
use super::records::{Batch, Failure, Kind, LogRec, Severity, SpanRec, TraceRange, Val, What};
use super::shop::{Endpoint, FEATURES, LOGIN_REFUSED, PAYMENT_METHODS, Step};

/// What traffic to simulate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Traffic {
    pub seed: u64,
    /// History and live traffic use different streams.
    pub stream: Stream,
    /// Traces per minute at the weekly peak.
    pub peak_per_min: f64,
    /// End of history: growth is relative to it.
    pub until_ns: i64,
}

/// Appends the traffic of minute `minute` (since the epoch): a Poisson number of user
/// requests with mean `peak_per_min` × the traffic shape, each a full trace with logs.
pub(crate) fn simulate_minute(
    traffic: &Traffic,
    minute: i64,
    versions: &mut Versions,
    out: &mut Batch,
) {
    let t0 = minute * NS_PER_MIN;
    let mut rng = model::rng(traffic.seed, traffic.stream, minute);
    let shape = model::traffic(t0 + NS_PER_MIN / 2, traffic.until_ns);
    let n = poisson(&mut rng, traffic.peak_per_min * shape);
    let plan = DayPlan::new(traffic.seed, t0.div_euclid(NS_PER_DAY));
    let during = |w: Option<(i64, i64)>| w.is_some_and(|(s, e)| s <= t0 && t0 < e);
    let mut starts: Vec<i64> = (0..n)
        .map(|_| t0 + (rng.random::<f64>() * NS_PER_MIN as f64) as i64)
        .collect();
    starts.sort_unstable();
    let mut sim = Sim {
        rng,
        // Busy hours are slower: queueing grows with load.
        load: 1.0 + 0.35 * shape * shape,
        burst: during(plan.error_burst),
        regression: during(plan.regression),
        versions: Svc::ALL.map(|s| versions.at(s, t0)),
        trace_id: 0,
        out,
    };
    for start in starts {
        sim.trace(start);
    }
}

struct Sim<'a> {
    rng: ChaCha8Rng,
    load: f64,
    burst: bool,
    regression: bool,
    versions: [Arc<str>; 6],
    trace_id: u128,
    out: &'a mut Batch,
}

/// The result of serving a request.
struct Outcome {
    end: i64,
    status: u16,
    failed: bool,
}

impl Sim<'_> {
    fn id(&mut self) -> u64 {
        self.rng.random::<u64>().max(1)
    }

    fn trace(&mut self, start: i64) {
        let (spans, logs) = (self.out.spans.len(), self.out.logs.len());
        self.trace_id = self.rng.random::<u128>().max(1);
        let mut pick = self.rng.random::<f64>();
        let feature = FEATURES
            .iter()
            .find(|f| {
                pick -= f.weight;
                pick < 0.0
            })
            .unwrap_or(&FEATURES[0]);
        let root = self.endpoint(&feature.entry, 0, start, Some(feature.name));
        self.out.traces.push(TraceRange {
            spans: spans..self.out.spans.len(),
            logs: logs..self.out.logs.len(),
            start,
            end: root.end,
        });
    }

    fn span(&mut self, rec: (u64, u64, Svc, Kind), t: (i64, i64), what: What, f: Option<Failure>) {
        let (span_id, parent, svc, kind) = rec;
        self.out.spans.push(SpanRec {
            trace_id: self.trace_id,
            span_id,
            parent,
            svc,
            version: Arc::clone(&self.versions[svc as usize]),
            kind,
            start: t.0,
            end: t.1,
            what,
            failure: f,
        });
    }

    fn log(&mut self, svc: Svc, span_id: u64, time: i64, sev: Severity, body: String) {
        self.log_with(svc, span_id, time, sev, body, Vec::new());
    }

    fn log_with(
        &mut self,
        svc: Svc,
        span_id: u64,
        time: i64,
        severity: Severity,
        body: String,
        attrs: Vec<(&'static str, Val)>,
    ) {
        self.out.logs.push(LogRec {
            svc,
            version: Arc::clone(&self.versions[svc as usize]),
            time,
            trace_id: self.trace_id,
            span_id,
            severity,
            body,
            attrs,
        });
    }

    /// Serves `ep` from `start` (a SERVER span) and returns when and how it ended.
    fn endpoint(
        &mut self,
        ep: &'static Endpoint,
        parent: u64,
        start: i64,
        feature: Option<&'static str>,
    ) -> Outcome {
        let id = self.id();
        let own = ep.own.sample(&mut self.rng, self.load);
        let mut cursor = start + own * 2 / 5;
        let mut failed = false;
        let mut refused = false;
        for step in ep.steps {
            cursor += self.rng.random_range(20_000..120_000);
            let (end, step_failed) = self.step(step, ep.svc, id, cursor);
            cursor = end;
            if step_failed {
                failed = true;
                break;
            }
        }
        if ep.route == "/api/login" && !failed && chance(&mut self.rng, LOGIN_REFUSED) {
            refused = true;
        }
        let end = cursor + own * 3 / 5;
        let status = match (failed, refused) {
            (true, _) if feature.is_some() => 502,
            (true, _) => 500,
            (false, true) => 401,
            _ => 200,
        };
        let failure = failed.then_some(Failure {
            message: "request failed: a downstream call failed",
            exception: None,
        });
        let what = What::Server {
            ep,
            status,
            feature,
        };
        self.span(
            (id, parent, ep.svc, Kind::Server),
            (start, end),
            what,
            failure,
        );
        self.request_logs(ep, id, start, end, status);
        Outcome {
            end,
            status,
            failed,
        }
    }

    fn request_logs(&mut self, ep: &'static Endpoint, id: u64, start: i64, end: i64, status: u16) {
        let ms = (end - start) as f64 / 1e6;
        let summary = format!("{} {} {status} {ms:.1} ms", ep.method, ep.route);
        let attrs = vec![
            ("http.route", Val::Str(ep.route)),
            ("http.response.status_code", Val::Int(status.into())),
            ("duration_ms", Val::Float((ms * 10.0).round() / 10.0)),
        ];
        self.log_with(ep.svc, id, end, Severity::Info, summary, attrs);
        if ms
            > if ep.svc == Svc::Frontend {
                1_000.0
            } else {
                500.0
            }
        {
            let body = format!("slow request: {} {} took {ms:.0} ms", ep.method, ep.route);
            self.log(ep.svc, id, end, Severity::Warn, body);
        }
        if status == 401 && ep.svc == Svc::Auth {
            let user = self.rng.random_range(1_000..100_000);
            let body = format!("login refused: invalid credentials for user u{user}");
            self.log(ep.svc, id, end, Severity::Warn, body);
        }
        if status == 200 && ep.route == "/api/checkout" {
            let order = format!("ord-{:08x}", self.rng.random::<u32>());
            let total = (60.0 * (0.6 * model::normal(&mut self.rng)).exp() * 100.0).round() / 100.0;
            let mut pick = self.rng.random::<f64>();
            let method = PAYMENT_METHODS
                .iter()
                .find(|(_, w)| {
                    pick -= w;
                    pick < 0.0
                })
                .map_or("card", |(m, _)| m);
            let attrs = vec![
                ("order.id", Val::String(order.clone())),
                ("order.total", Val::Float(total)),
                ("payment.method", Val::Str(method)),
            ];
            let body = format!("order {order} placed: {total:.2} EUR by {method}");
            self.log_with(ep.svc, id, end, Severity::Info, body, attrs);
        }
    }

    /// Runs one step of an endpoint under `parent`; returns its end and whether it failed.
    fn step(&mut self, step: &'static Step, svc: Svc, parent: u64, start: i64) -> (i64, bool) {
        let id = self.id();
        match step {
            Step::Call(ep) => {
                let there = start + self.rng.random_range(100_000..600_000);
                let r = self.endpoint(ep, id, there, None);
                let end = r.end + self.rng.random_range(100_000..600_000);
                let failure = r.failed.then_some(Failure {
                    message: "HTTP 5xx from downstream service",
                    exception: None,
                });
                let what = What::Client {
                    ep,
                    status: r.status,
                };
                self.span((id, parent, svc, Kind::Client), (start, end), what, failure);
                (end, r.failed)
            }
            Step::Db(db) => {
                let slow = self.regression && db.regresses;
                let factor = self.load * if slow { 4.0 } else { 1.0 };
                let end = start + db.latency.sample(&mut self.rng, factor);
                let p = db.fail * if slow { 10.0 } else { 1.0 };
                let failed = chance(&mut self.rng, p);
                self.fail_here(svc, id, end, failed, db.error);
                let failure = failed.then_some(Failure {
                    message: db.error.1,
                    exception: Some(db.error.0),
                });
                self.span(
                    (id, parent, svc, Kind::Client),
                    (start, end),
                    What::Db(db),
                    failure,
                );
                (end, failed)
            }
            Step::Work(name, latency) => {
                let end = start + latency.sample(&mut self.rng, self.load);
                self.span(
                    (id, parent, svc, Kind::Internal),
                    (start, end),
                    What::Work(name),
                    None,
                );
                (end, false)
            }
            Step::External(ext) => {
                let end = start + ext.latency.sample(&mut self.rng, 1.0);
                let p = if self.burst { ext.burst_fail } else { ext.fail };
                let failed = chance(&mut self.rng, p);
                self.fail_here(svc, id, end, failed, ext.error);
                let failure = failed.then_some(Failure {
                    message: ext.error.1,
                    exception: Some(ext.error.0),
                });
                let what = What::External(ext, if failed { 503 } else { 200 });
                self.span((id, parent, svc, Kind::Client), (start, end), what, failure);
                (end, failed)
            }
        }
    }

    /// An ERROR log where an error is raised.
    fn fail_here(&mut self, svc: Svc, id: u64, t: i64, failed: bool, e: (&'static str, &str)) {
        if failed {
            let attrs = vec![
                ("exception.type", Val::Str(e.0)),
                ("exception.message", Val::String(e.1.to_string())),
            ];
            self.log_with(
                svc,
                id,
                t,
                Severity::Error,
                format!("{}: {}", e.0, e.1),
                attrs,
            );
        }
    }
}
