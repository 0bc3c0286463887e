#!/usr/bin/env python3
"""Reference log search by DuckDB over Headroom's ``logs`` Parquet files.

The benchmark runs this next to ``GET /api/v1/logs?q=…`` so that the time of a
log search and its result are compared, in the same run, with DuckDB running the
same search over the same files::

    SELECT timestamp, body FROM read_parquet(GLOB)
    WHERE timestamp >= FROM AND timestamp < TO AND body ILIKE '%' || Q || '%'
    ORDER BY timestamp DESC LIMIT N

``Q`` is matched literally (``%``, ``_`` and ``\\`` are escaped).  Bounds are
epoch nanoseconds; DuckDB compares at microsecond resolution when it reads the
column as TIMESTAMPTZ, so pass microsecond-aligned bounds.

Output: ``{"rows": [[ts_us, body], ...], "matches": <count(*) of all matches>,
"times_ms": [...], "median_ms": m}`` (``matches`` is computed once, untimed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import duckdb


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--glob", required=True)
    p.add_argument("--from-ns", type=int, required=True)
    p.add_argument("--to-ns", type=int, required=True)
    p.add_argument("--q", required=True)
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    pattern = "%" + a.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    where = (
        "timestamp >= make_timestamp($from::BIGINT)::TIMESTAMPTZ "
        "AND timestamp < make_timestamp($to::BIGINT)::TIMESTAMPTZ "
        "AND body ILIKE $pattern ESCAPE '\\'"
    )
    params = {"glob": a.glob, "from": a.from_ns // 1000, "to": a.to_ns // 1000, "pattern": pattern}
    sql = (
        "SELECT epoch_us(timestamp), body FROM read_parquet($glob, hive_partitioning = false) "
        f"WHERE {where} ORDER BY timestamp DESC LIMIT {a.limit}"
    )
    times, rows = [], []
    for _ in range(max(a.repeat, 1)):
        t = time.perf_counter()
        rows = con.execute(sql, params).fetchall()
        times.append((time.perf_counter() - t) * 1e3)
    matches = con.execute(
        f"SELECT count(*) FROM read_parquet($glob, hive_partitioning = false) WHERE {where}", params
    ).fetchone()[0]
    json.dump(
        {"rows": rows, "matches": matches, "times_ms": times, "median_ms": statistics.median(times)},
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
