"""Threads calling in parallel: the GIL is released while the database works, and the
pool hands each thread a connection of its own."""

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import pangeo_forge as pf
from fields import API_KEY, run_fields


def test_parallel_creates_from_many_threads_all_land(stocked):
    forge, _, _ = stocked

    def create_many(worker):
        return [forge.create(pf.RecipeRunCreate(**run_fields(recipe_id=f"w{worker}-{i}"))).id for i in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [run_id for batch in pool.map(create_many, range(8)) for run_id in batch]
    assert len(ids) == len(set(ids)) == 200
    assert forge.count_recipe_runs() == 200


def test_parallel_reads_and_writes_through_the_router(router, forge):
    router.handle("POST", "/bakeries/", headers={"x-api-key": API_KEY},
                  body={"region": "r", "name": "n", "description": "d"})
    router.handle("POST", "/feedstocks/", headers={"x-api-key": API_KEY}, body={"spec": "a/b-feedstock"})

    def exercise(worker):
        statuses = []
        for _ in range(20):
            statuses.append(router.handle("POST", "/recipe_runs/", headers={"x-api-key": API_KEY},
                                          body=run_fields()).status)
            statuses.append(router.handle("GET", "/recipe_runs/?limit=5").status)
        return statuses

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = [status for batch in pool.map(exercise, range(6)) for status in batch]
    assert set(statuses) == {200}
    assert forge.count_recipe_runs() == 120


@pytest.mark.only_backend("sqlite")
def test_a_call_waiting_on_the_database_lets_other_threads_run(database_url, forge, tmp_path):
    # Another connection holds SQLite's write lock. A create waits for it (busy timeout
    # 5 s); only if the GIL is released can this thread run Python meanwhile and let go
    # of the lock, so that the create succeeds instead of timing out.
    path = database_url[len("sqlite:///"):]
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    result = {}

    def create():
        try:
            result["bakery"] = forge.create(pf.BakeryCreate(region="r", name="waited", description="d"))
        except pf.Error as error:
            result["error"] = error

    worker = threading.Thread(target=create)
    worker.start()
    worker.join(timeout=0.5)
    assert worker.is_alive()  # blocked on the lock, in C++
    python_ran = sum(range(100_000))  # Python runs beside it
    holder.execute("COMMIT")
    holder.close()
    worker.join(timeout=10)
    assert python_ran == 4999950000
    assert "error" not in result and result["bakery"].name == "waited"
