#!/usr/bin/env python3
"""Reference RED numbers computed by DuckDB over Headroom's span Parquet files.

The benchmark (``headroom bench``) and the Rust tests use this script as an
independent oracle: it runs the per-service "requests / errors / latency
quantiles" query with DuckDB over the Parquet files Headroom wrote, times it,
and prints the result as JSON so the caller can compare both the numbers and
the speed with Headroom's own query engine.

Query (entry spans only, i.e. ``span_kind`` SERVER or CONSUMER)::

    SELECT service_name, count(*) AS requests,
           count(*) FILTER (WHERE status_code = 'ERROR') AS errors,
           quantile_cont(duration_ns, 0.5)  AS p50,
           quantile_cont(duration_ns, 0.95) AS p95,
           quantile_cont(duration_ns, 0.99) AS p99
    FROM read_parquet(GLOB, hive_partitioning = false)
    WHERE start_time >= FROM AND start_time < TO
      AND span_kind IN ('SERVER', 'CONSUMER')
    GROUP BY service_name ORDER BY service_name

With ``--approx`` the quantiles use ``approx_quantile`` instead.

Time window bounds: the bounds are built from integers (no floating point) as
timestamps of the same type DuckDB gives ``start_time``, under ``TimeZone =
'UTC'``, so DuckDB can push the filter into the Parquet scan.  DuckDB 1.x
reads Parquet ``Timestamp(ns, UTC)`` columns as ``TIMESTAMP WITH TIME ZONE``,
which has microsecond resolution: every ``start_time`` is truncated to whole
microseconds and the filter is ``t_us * 1000 >= from_ns AND t_us * 1000 <
to_ns`` (bounds via ``make_timestamp(us)::TIMESTAMPTZ``).  That equals
``from_ns <= t_ns < to_ns`` whenever both bounds are multiples of 1000 ns, so
callers wanting exact agreement should use microsecond-aligned bounds (whole
seconds, say).  DuckDB versions that read the column as ``TIMESTAMPTZ_NS``
compare at full nanosecond precision (bounds via ``make_timestamp_ns``).

Output (one JSON object on stdout)::

    {"rows": [{"service_name": "checkout", "requests": 10, "errors": 1,
               "p50_ns": 1.5e6, "p95_ns": 2.0e6, "p99_ns": 2.1e6}, ...],
     "times_ms": [12.3, 10.1, ...], "median_ms": 10.4}

``requests`` and ``errors`` are integers; the quantiles are always JSON floats
(``quantile_cont`` interpolates).  ``rows`` come from the last run; each run is
checked to return the same rows.  ``times_ms`` holds the wall time of every run
(execute + fetch) in milliseconds.  Exit status: 0 on success, 1 on a query
error (for example a glob that matches no file), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import duckdb

QUERY_TEMPLATE = """
SELECT service_name,
       count(*) AS requests,
       count(*) FILTER (WHERE status_code = 'ERROR') AS errors,
       {q}(duration_ns, 0.5)  AS p50,
       {q}(duration_ns, 0.95) AS p95,
       {q}(duration_ns, 0.99) AS p99
FROM read_parquet($glob, hive_partitioning = false)
WHERE start_time >= {from_bound}
  AND start_time <  {to_bound}
  AND span_kind IN ('SERVER', 'CONSUMER')
GROUP BY service_name
ORDER BY service_name
"""


def ceil_div(a: int, b: int) -> int:
    """Integer ceiling division (exact for any size of int)."""
    return -(-a // b)


def start_time_type(con: duckdb.DuckDBPyConnection, glob: str) -> str:
    """DuckDB's type for the ``start_time`` column (read from the file schema)."""
    described = con.execute(
        "DESCRIBE SELECT start_time FROM read_parquet($glob, hive_partitioning = false)",
        {"glob": glob},
    ).fetchall()
    return described[0][1]


def build_query(approx: bool, column_type: str) -> str:
    """Return the SQL text, with exact or approximate quantiles.

    The window bounds are ``$from``/``$to`` parameters in microseconds when
    DuckDB sees ``start_time`` with microsecond resolution (TIMESTAMPTZ), and
    in nanoseconds when it keeps nanoseconds (TIMESTAMPTZ_NS / TIMESTAMP_NS).
    """
    if column_type in ("TIMESTAMPTZ_NS", "TIMESTAMP_NS"):
        bound = "make_timestamp_ns(${}::BIGINT)::" + column_type
    elif column_type == "TIMESTAMP WITH TIME ZONE":
        bound = "make_timestamp(${}::BIGINT)::TIMESTAMPTZ"
    else:
        raise RuntimeError(f"unexpected type {column_type!r} for column start_time")
    return QUERY_TEMPLATE.format(
        q="approx_quantile" if approx else "quantile_cont",
        from_bound=bound.format("from"),
        to_bound=bound.format("to"),
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compute per-service request/error/latency reference numbers "
        "with DuckDB over Headroom span Parquet files and print them as JSON.",
    )
    parser.add_argument(
        "--glob",
        required=True,
        help="Parquet file glob, e.g. 'DATA_DIR/spans/**/*.parquet' (quote it so "
        "the shell does not expand it)",
    )
    parser.add_argument(
        "--from-ns",
        type=int,
        required=True,
        help="window start, Unix epoch nanoseconds (inclusive)",
    )
    parser.add_argument(
        "--to-ns",
        type=int,
        required=True,
        help="window end, Unix epoch nanoseconds (exclusive)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="how many times to run the query (default: 5)",
    )
    parser.add_argument(
        "--approx",
        action="store_true",
        help="use approx_quantile instead of quantile_cont",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.to_ns < args.from_ns:
        parser.error("--to-ns must not be smaller than --from-ns")
    return args


def run(args: argparse.Namespace) -> dict:
    """Run the query ``args.repeat`` times on one connection; return the report."""
    con = duckdb.connect(database=":memory:")
    try:
        con.execute("SET threads TO 2")
        con.execute("SET TimeZone = 'UTC'")
        column_type = start_time_type(con, args.glob)
        sql = build_query(args.approx, column_type)
        if column_type == "TIMESTAMP WITH TIME ZONE":
            # Microsecond timestamps; see "Time window bounds" above.
            bounds = {"from": ceil_div(args.from_ns, 1000), "to": ceil_div(args.to_ns, 1000)}
        else:
            bounds = {"from": args.from_ns, "to": args.to_ns}
        params = {"glob": args.glob, **bounds}
        times_ms: list[float] = []
        rows = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = con.execute(sql, params).fetchall()
            times_ms.append((time.perf_counter() - started) * 1000.0)
            # approx_quantile (t-digest) merges per-thread digests in scheduling order, so
            # its quantiles may differ slightly between runs; counts never may.
            def comparable(r):
                return [row[:3] for row in r] if args.approx else r

            if rows is not None and comparable(result) != comparable(rows):
                raise RuntimeError("DuckDB returned different rows on repeated runs")
            rows = result
    finally:
        con.close()

    return {
        "rows": [
            {
                "service_name": service,
                "requests": int(requests),
                "errors": int(errors),
                "p50_ns": float(p50),
                "p95_ns": float(p95),
                "p99_ns": float(p99),
            }
            for service, requests, errors, p50, p95, p99 in rows or []
        ],
        "times_ms": [round(t, 3) for t in times_ms],
        "median_ms": round(statistics.median(times_ms), 3),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except (duckdb.Error, RuntimeError) as exc:
        print(f"duckdb_reference: query failed: {exc}", file=sys.stderr)
        return 1
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
