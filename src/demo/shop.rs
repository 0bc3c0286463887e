//! The shop's call graph: which features exist, which services each one calls, which
//! database queries they run, and where they fail.

use super::model::{Latency, Svc};

/// A user-facing feature: one entry span on `frontend`, tagged `feature=<name>`.
#[derive(Debug)]
pub(crate) struct Feature {
    pub name: &'static str,
    /// Share of user requests.
    pub weight: f64,
    pub entry: Endpoint,
}

/// An HTTP endpoint served by a service: its own work plus calls, in order.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub svc: Svc,
    pub method: &'static str,
    pub route: &'static str,
    /// The endpoint's own processing time (split before and after its calls).
    pub own: Latency,
    pub steps: &'static [Step],
}

/// What an endpoint does while serving a request.
#[derive(Debug)]
pub(crate) enum Step {
    /// An HTTP call to another service: a CLIENT span here, a SERVER span there.
    Call(&'static Endpoint),
    /// A database call: a CLIENT span with `db.system`.
    Db(&'static Db),
    /// In-process work: an INTERNAL span.
    Work(&'static str, Latency),
    /// A call to a third party outside the shop: a CLIENT span only.
    External(&'static External),
}

#[derive(Debug)]
pub(crate) struct Db {
    pub system: &'static str,
    pub operation: &'static str,
    pub collection: &'static str,
    pub latency: Latency,
    /// Probability of failure in normal times.
    pub fail: f64,
    pub error: (&'static str, &'static str),
    /// Slowed down ~4x during a catalog latency regression.
    pub regresses: bool,
}

#[derive(Debug)]
pub(crate) struct External {
    pub name: &'static str,
    pub host: &'static str,
    pub latency: Latency,
    pub fail: f64,
    /// Failure probability during an error burst.
    pub burst_fail: f64,
    pub error: (&'static str, &'static str),
}

const fn lat(median_ms: f64, sigma: f64, tail: f64) -> Latency {
    Latency::new(median_ms, sigma, tail)
}

static SESSION_GET: Db = Db {
    system: "redis",
    operation: "GET",
    collection: "session",
    latency: lat(0.4, 0.35, 0.005),
    fail: 0.0,
    error: ("", ""),
    regresses: false,
};

static PRODUCTS_SELECT: Db = Db {
    system: "postgresql",
    operation: "SELECT",
    collection: "products",
    latency: lat(6.0, 0.5, 0.01),
    fail: 0.0005,
    error: (
        "QueryCanceled",
        "canceling statement due to statement timeout",
    ),
    regresses: true,
};

static USERS_SELECT: Db = Db {
    system: "postgresql",
    operation: "SELECT",
    collection: "users",
    latency: lat(2.5, 0.4, 0.005),
    fail: 0.0,
    error: ("", ""),
    regresses: false,
};

static INDEX_QUERY: Db = Db {
    system: "elasticsearch",
    operation: "search",
    collection: "products",
    latency: lat(18.0, 0.6, 0.015),
    fail: 0.001,
    error: ("TimeoutError", "search index did not answer within 2 s"),
    regresses: true,
};

static ORDERS_INSERT: Db = Db {
    system: "postgresql",
    operation: "INSERT",
    collection: "orders",
    latency: lat(4.0, 0.4, 0.01),
    fail: 0.0,
    error: ("", ""),
    regresses: false,
};

static CHARGES_INSERT: Db = Db {
    system: "postgresql",
    operation: "INSERT",
    collection: "charges",
    latency: lat(3.0, 0.4, 0.01),
    fail: 0.0,
    error: ("", ""),
    regresses: false,
};

static PSP: External = External {
    name: "POST /v1/charges",
    host: "api.psp.example",
    latency: lat(180.0, 0.45, 0.02),
    fail: 0.003,
    burst_fail: 0.4,
    error: (
        "PaymentGatewayError",
        "upstream connect error: 503 Service Unavailable",
    ),
};

static AUTH_VERIFY: Endpoint = Endpoint {
    svc: Svc::Auth,
    method: "POST",
    route: "/api/session/verify",
    own: lat(0.8, 0.3, 0.005),
    steps: &[Step::Db(&SESSION_GET)],
};

static AUTH_LOGIN: Endpoint = Endpoint {
    svc: Svc::Auth,
    method: "POST",
    route: "/api/login",
    own: lat(2.0, 0.3, 0.005),
    steps: &[
        Step::Db(&USERS_SELECT),
        Step::Work("verify password", lat(45.0, 0.15, 0.002)),
    ],
};

static CATALOG_PRODUCT: Endpoint = Endpoint {
    svc: Svc::Catalog,
    method: "GET",
    route: "/api/products/{id}",
    own: lat(1.5, 0.4, 0.01),
    steps: &[Step::Db(&PRODUCTS_SELECT)],
};

static CATALOG_BATCH: Endpoint = Endpoint {
    svc: Svc::Catalog,
    method: "POST",
    route: "/api/products/batch",
    own: lat(2.5, 0.4, 0.01),
    steps: &[Step::Db(&PRODUCTS_SELECT)],
};

static SEARCH: Endpoint = Endpoint {
    svc: Svc::Search,
    method: "GET",
    route: "/api/search",
    own: lat(2.0, 0.4, 0.01),
    steps: &[Step::Db(&INDEX_QUERY), Step::Call(&CATALOG_BATCH)],
};

static PAYMENTS_CHARGE: Endpoint = Endpoint {
    svc: Svc::Payments,
    method: "POST",
    route: "/api/charges",
    own: lat(3.0, 0.3, 0.01),
    steps: &[Step::External(&PSP), Step::Db(&CHARGES_INSERT)],
};

static CHECKOUT_PLACE: Endpoint = Endpoint {
    svc: Svc::Checkout,
    method: "POST",
    route: "/api/checkout",
    own: lat(4.0, 0.35, 0.01),
    steps: &[
        Step::Call(&CATALOG_BATCH),
        Step::Work("price cart", lat(3.0, 0.5, 0.01)),
        Step::Call(&PAYMENTS_CHARGE),
        Step::Db(&ORDERS_INSERT),
    ],
};

/// The four features and their share of traffic.
pub(crate) static FEATURES: [Feature; 4] = [
    Feature {
        name: "browse",
        weight: 0.55,
        entry: Endpoint {
            svc: Svc::Frontend,
            method: "GET",
            route: "/products/{id}",
            own: lat(3.0, 0.4, 0.01),
            steps: &[
                Step::Call(&CATALOG_PRODUCT),
                Step::Work("render page", lat(4.0, 0.4, 0.01)),
            ],
        },
    },
    Feature {
        name: "search",
        weight: 0.25,
        entry: Endpoint {
            svc: Svc::Frontend,
            method: "GET",
            route: "/search",
            own: lat(2.5, 0.4, 0.01),
            steps: &[
                Step::Call(&SEARCH),
                Step::Work("render page", lat(4.0, 0.4, 0.01)),
            ],
        },
    },
    Feature {
        name: "login",
        weight: 0.12,
        entry: Endpoint {
            svc: Svc::Frontend,
            method: "POST",
            route: "/login",
            own: lat(1.5, 0.3, 0.01),
            steps: &[Step::Call(&AUTH_LOGIN)],
        },
    },
    Feature {
        name: "checkout",
        weight: 0.08,
        entry: Endpoint {
            svc: Svc::Frontend,
            method: "POST",
            route: "/checkout",
            own: lat(2.0, 0.3, 0.01),
            steps: &[Step::Call(&AUTH_VERIFY), Step::Call(&CHECKOUT_PLACE)],
        },
    },
];

/// Probability that a login is refused (HTTP 401: not a span error).
pub(crate) const LOGIN_REFUSED: f64 = 0.06;
/// Payment methods of orders, with their shares.
pub(crate) const PAYMENT_METHODS: [(&str, f64); 3] =
    [("card", 0.7), ("paypal", 0.2), ("invoice", 0.1)];
