#!/usr/bin/env bash
# `pangeo-forge db upgrade head` on an empty SQLite file, whole process, timed by hyperfine
# in one run beside (1) the raw SQLite C API running the same statements (the offline
# script) in a process of its own and (2) Alembic running the same history (bench/alembic,
# batch mode). Prints each median and the ratios (medians: a run the machine delayed
# moves a mean of 30 runs by several percent).
#
#   bench/upgrade_head.sh [BUILD_DIR]     (needs: hyperfine, python3-alembic; a build with
#                                          -DPANGEO_FORGE_BUILD_BENCHMARKS=ON)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}
work=$(mktemp -d /tmp/pangeo_forge_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$build/pangeo-forge" db upgrade base:head --sql --dialect sqlite > "$work/upgrade.sql"
hyperfine --warmup 3 --runs 30 -N --export-json "$work/times.json" \
  --prepare "rm -f $work/ours.db $work/ours.db-wal $work/ours.db-shm" \
  -n pangeo_forge "$build/pangeo-forge db --url sqlite:///$work/ours.db upgrade head" \
  --prepare "rm -f $work/raw.db $work/raw.db-wal $work/raw.db-shm" \
  -n raw_sqlite "$build/bench/raw_sqlite_script $work/raw.db $work/upgrade.sql" \
  --prepare "rm -f $work/alembic.db" \
  -n alembic "env DATABASE_URL=sqlite:///$work/alembic.db /usr/bin/python3 -m alembic -c $here/alembic/alembic.ini upgrade head"

# Both tools must have built the same thing: tables, columns, keys and indexes compared
# (index names aside: SQLite names those of unique constraints itself; defaults aside:
# 70bcddc9fffa fills is_test of the rows there, where the Alembic file leaves DEFAULT 0).
rm -f "$work/ours.db" "$work/alembic.db"
"$build/pangeo-forge" db --url "sqlite:///$work/ours.db" upgrade head > /dev/null
env DATABASE_URL="sqlite:///$work/alembic.db" /usr/bin/python3 -m alembic -c "$here/alembic/alembic.ini" upgrade head \
  2> /dev/null
/usr/bin/python3 - "$work/ours.db" "$work/alembic.db" <<'PY'
import sqlite3, sys
def shape(path):
    db = sqlite3.connect(path)
    tables = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT IN ('pangeo_forge_migrations', 'pangeo_forge_migration_steps') ORDER BY name")]
    return {table: (
        [(c[1], c[2].upper(), c[3], c[5]) for c in db.execute("SELECT * FROM pragma_table_info(?)", (table,))],
        sorted((f[2], f[3], f[4]) for f in db.execute("SELECT * FROM pragma_foreign_key_list(?)", (table,))),
        sorted((i[2], i[3], tuple(c[2] for c in db.execute("SELECT * FROM pragma_index_info(?)", (i[1],))))
               for i in db.execute("SELECT * FROM pragma_index_list(?)", (table,))),
        [v for (v,) in db.execute(f'SELECT * FROM "{table}"')] if table == "alembic_version" else None,
    ) for table in tables}
ours, alembic = shape(sys.argv[1]), shape(sys.argv[2])
if ours != alembic:
    for table in sorted(set(ours) | set(alembic)):
        if ours.get(table) != alembic.get(table):
            print(f"{table}:\n  pangeo_forge {ours.get(table)}\n  Alembic      {alembic.get(table)}")
    sys.exit("the two schemas differ: the bench would not compare the same work")
print(f"same schema from both: {len(ours)} tables, at {ours['alembic_version'][3]}")
PY

/usr/bin/python3 - "$work/times.json" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
ours, raw, alembic = (results[name]["median"] for name in ("pangeo_forge", "raw_sqlite", "alembic"))
print(f"pangeo_forge {ours * 1000:.2f} ms, raw SQLite {raw * 1000:.2f} ms, Alembic {alembic * 1000:.1f} ms (medians)")
print(f"pangeo_forge / raw SQLite = {ours / raw:.2f}; Alembic / pangeo_forge = {alembic / ours:.1f}x")
PY

# The machine's speed drifts between hyperfine's groups (all of one command, then all of the
# next): the same two commands in turns, 100 pairs, give the ratio the drift leaves alone.
/usr/bin/python3 - "$build" "$work" <<'PY'
import os, statistics, subprocess, sys, time
build, work = sys.argv[1:]
commands = {
    "ours": [f"{build}/pangeo-forge", "db", "--url", f"sqlite:///{work}/ours.db", "upgrade", "head"],
    "raw": [f"{build}/bench/raw_sqlite_script", f"{work}/raw.db", f"{work}/upgrade.sql"],
}
def timed(name):
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(f"{work}/{name}.db{suffix}")
        except FileNotFoundError:
            pass
    start = time.perf_counter()
    subprocess.run(commands[name], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start
ratios = [timed("ours") / timed("raw") for _ in range(100)]
print(f"in turns, 100 pairs: pangeo_forge / raw SQLite = {statistics.median(ratios):.2f} (median of the pairs' ratios; "
      f"quartiles {statistics.quantiles(ratios, n=4)[0]:.2f} to {statistics.quantiles(ratios, n=4)[2]:.2f})")
PY
