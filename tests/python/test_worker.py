"""pangeo_forge.Worker over an in-process Orchestrator: executors, commands, stop."""

import sys
import threading
from datetime import datetime, timezone

import pytest

import pangeo_forge as pf
from conftest import BAKERY


def queue(forge, bakery, feedstock, recipe="gpcp", is_test=False):
    return forge.create(pf.RecipeRunCreate(recipe_id=recipe, bakery_id=bakery.id, feedstock_id=feedstock.id,
                                           head_sha="abc123", version="1.0", is_test=is_test,
                                           started_at=datetime.now(timezone.utc))).id


def test_an_executor_gets_each_run_once_and_its_result_is_reported(stocked):
    forge, bakery, feedstock = stocked
    ids = [queue(forge, bakery, feedstock, recipe=f"r{i}") for i in range(5)]
    seen = []

    def bake(run, attempt, stop):
        seen.append((run.id, attempt, stop()))
        assert isinstance(run, pf.RecipeRunWithRelations)
        if run.recipe_id == "r3":
            raise ValueError("no inputs for r3")
        if run.recipe_id == "r4":
            return {"outcome": "submitted", "job_id": "job-4"}
        return None

    lines = []
    worker = pf.Worker(forge, BAKERY["name"], executor=bake, once=True, concurrency=2,
                       public_url_template="https://data.example/{path}", log=lines.append)
    summary = worker.run()
    assert (summary.claimed, summary.succeeded, summary.failed, summary.submitted) == (5, 3, 1, 1)
    assert sorted(run_id for run_id, _, _ in seen) == ids
    assert all(attempt == 1 and not stopped for _, attempt, stopped in seen)
    runs = {run_id: forge.recipe_run(run_id) for run_id in ids}
    assert runs[ids[0]].conclusion == "success"
    assert runs[ids[0]].dataset_public_url == f"https://data.example/{feedstock.spec}/r0"
    assert "ValueError: no inputs for r3" in runs[ids[3]].message
    assert runs[ids[4]].status == "in_progress" and "job-4" in runs[ids[4]].message
    assert any("claimed" in line for line in lines)


def test_a_command_runs_with_its_placeholders(stocked, tmp_path):
    forge, bakery, feedstock = stocked
    run_id = queue(forge, bakery, feedstock, is_test=True)
    out = tmp_path / "ran"
    worker = pf.Worker(forge, BAKERY["name"], once=True,
                       command=["bash", "-c", f'echo "$0 $1" > {out}', "{recipe_run_id}", "{prune}"])
    assert worker.run().succeeded == 1
    assert out.read_text() == f"{run_id} --prune\n"


def test_request_stop_gives_a_running_run_back_after_the_drain_grace(stocked):
    forge, bakery, feedstock = stocked
    run_id = queue(forge, bakery, feedstock)
    started = threading.Event()
    reasons = []

    def slow(run, attempt, stop):
        started.set()
        stop.wait(30)
        reasons.append(stop.reason)
        return {"outcome": "released"}

    worker = pf.Worker(forge, BAKERY["name"], executor=slow, drain_grace=0.2, poll=0.05)
    result = []
    thread = threading.Thread(target=lambda: result.append(worker.run()))
    thread.start()
    assert started.wait(20)
    worker.request_stop()
    thread.join(30)
    assert not thread.is_alive()
    assert result[0].released == 1
    assert reasons == ["released"]
    assert forge.recipe_run(run_id).status == "queued"


def test_wrong_arguments_are_refused_by_name(stocked):
    forge, _, _ = stocked
    with pytest.raises(pf.ConfigError, match="concurrency is 0"):
        pf.Worker(forge, BAKERY["name"], concurrency=0)
    with pytest.raises(pf.ConfigError, match="not both"):
        pf.Worker(forge, BAKERY["name"], command=["true"], executor=lambda run, attempt, stop: None)
    with pytest.raises(pf.ConfigError, match="Orchestrator"):
        pf.Worker(object(), BAKERY["name"])
