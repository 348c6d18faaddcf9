"""Creating recipe runs from Python, one transaction each: pangeo_forge against the same
from C++ (bench_orchestrator's loop, run by this script in the same run) and against the
Python service's SQLModel code, all on SQLite files with the same settings (WAL,
synchronous=NORMAL, foreign keys on). Rounds alternate; medians are reported.

    python3 bench/python_create_runs.py --cpp build-bench/bench/bench_orchestrator [--runs 10000] [--rounds 3]

Needs pangeo_forge importable (pip install .) and python3-sqlmodel for the service's side.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pangeo_forge as pf

FIELDS = {"recipe_id": "noaa-oisst", "bakery_id": 1, "feedstock_id": 1, "head_sha": "035ee3e8d8d8c6a8",
          "version": "1.0", "started_at": datetime(2021, 1, 1, tzinfo=timezone.utc), "message": "queued"}


def database_at_head(path):
    """A SQLite file at head with one bakery and one feedstock, made by pangeo_forge."""
    database = pf.Database(f"sqlite:///{path}")
    pf.Migrations(database).upgrade("head")
    forge = pf.Orchestrator(database)
    forge.create(pf.BakeryCreate(region="us-central1", name="ldeo", description="d"))
    forge.create(pf.FeedstockCreate(spec="pangeo-forge/x-feedstock"))
    return database


def rate(runs, create):
    start = time.perf_counter()
    for _ in range(runs):
        create()
    return runs / (time.perf_counter() - start)


def python_one_form(folder, runs):
    forge = pf.Orchestrator(database_at_head(folder / "one_form.db"))
    body = pf.RecipeRunCreate(**FIELDS)  # as bench_orchestrator: one body, created many times
    return rate(runs, lambda: forge.create(body))


def python_form_each(folder, runs):
    forge = pf.Orchestrator(database_at_head(folder / "form_each.db"))
    return rate(runs, lambda: forge.create(pf.RecipeRunCreate(**FIELDS)))  # validated each time


def sqlmodel_service(folder, runs):
    from sqlmodel_service.models import RecipeRunCreate, create_recipe_run, sqlite_engine
    path = folder / "sqlmodel.db"
    database_at_head(path)
    engine = sqlite_engine(path)
    fields = dict(FIELDS, started_at=FIELDS["started_at"].replace(tzinfo=None))
    return rate(runs, lambda: create_recipe_run(engine, RecipeRunCreate(**fields)))


def cpp(executable, runs):
    # With --create-only, bench_orchestrator prints the orchestrator's create rate alone.
    output = subprocess.run([executable, str(runs), "--create-only"], check=True, capture_output=True,
                            text=True).stdout
    return float(output.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpp", required=True, help="bench_orchestrator (a build with -DPANGEO_FORGE_BUILD_BENCHMARKS=ON)")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sqlmodel-runs", type=int, default=2_000,
                        help="runs for the SQLModel side, which is far slower")
    arguments = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))

    results = {"C++ orchestrator": [], "Python, one form": [], "Python, form built each time": [],
               "SQLModel service": []}
    for _ in range(arguments.rounds):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            results["C++ orchestrator"].append(cpp(arguments.cpp, arguments.runs))
            results["Python, one form"].append(python_one_form(folder, arguments.runs))
            results["Python, form built each time"].append(python_form_each(folder, arguments.runs))
            results["SQLModel service"].append(sqlmodel_service(folder, arguments.sqlmodel_runs))

    medians = {name: statistics.median(rates) for name, rates in results.items()}
    for name, rates in results.items():
        print(f"{name:30s} {medians[name]:10.0f}/s   (rounds: {', '.join(f'{r:.0f}' for r in rates)})")
    cpp_rate, sqlmodel_rate = medians["C++ orchestrator"], medians["SQLModel service"]
    for name in ("Python, one form", "Python, form built each time"):
        print(f"{name}: {medians[name] / cpp_rate:.2f} of C++, {medians[name] / sqlmodel_rate:.1f}x SQLModel")


if __name__ == "__main__":
    main()
