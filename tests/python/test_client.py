"""pangeo_forge.Client: the Orchestrator's operations over HTTP against a running
`pangeo-forge serve`, with the same model classes and exceptions; and the dispatch
queue's values and methods, in-process and remote."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

import pangeo_forge as pf
from fields import API_KEY, BAKERY, FEEDSTOCK, run_fields


@pytest.fixture
def server(database_url, forge):
    """`python -m pangeo_forge serve` on a free port over the test's database at head."""
    env = dict(os.environ, DATABASE_URL=database_url, PANGEO_FORGE_API_KEY=API_KEY)
    process = subprocess.Popen([sys.executable, "-m", "pangeo_forge", "serve", "--port", "0", "--threads", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stderr.readline()
    assert line.startswith("serving"), line
    # The access log goes on: read it, so the server never blocks on a full pipe.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    yield line.strip().rsplit(" on ", 1)[1]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


@pytest.fixture
def remote(server):
    return pf.Client(server, api_key=API_KEY)


def test_the_client_has_every_operation_of_the_orchestrator():
    shared = {name for name in dir(pf.Orchestrator) if not name.startswith("_")} - {"expire_leases"}
    assert shared <= set(dir(pf.Client))


def test_create_read_update_delete_return_the_model_classes(remote, forge):
    bakery = remote.create(pf.BakeryCreate(**BAKERY))
    assert isinstance(bakery, pf.Bakery) and bakery.id == 1
    assert isinstance(remote.create(pf.FeedstockCreate(**FEEDSTOCK)), pf.Feedstock)
    run = remote.create(pf.RecipeRunCreate(**run_fields()))
    assert isinstance(run, pf.RecipeRun) and run.status == "queued"
    assert remote.recipe_run(1) == forge.recipe_run(1)
    assert isinstance(remote.bakery(1), pf.BakeryWithRecipeRuns) and len(remote.bakery(1).recipe_runs) == 1
    assert remote.feedstock(1) == forge.feedstock(1)
    assert remote.update(1, pf.BakeryUpdate(description="moved")).description == "moved"
    done = remote.update(1, pf.RecipeRunUpdate(conclusion="success"))
    assert done.status == "completed" and done.completed_at is not None
    assert [r.id for r in remote.recipe_runs(order_by="id", sort="desc", limit=1)] == [1]
    assert remote.bakeries() == forge.bakeries() and remote.feedstocks() == forge.feedstocks()
    remote.delete_recipe_run(1)
    assert remote.count_recipe_runs() == 0


def test_errors_are_the_orchestrators(remote, server):
    with pytest.raises(pf.NotFound, match="Bakery not found"):
        remote.bakery(9)
    remote.create(pf.BakeryCreate(**BAKERY))
    remote.create(pf.FeedstockCreate(**FEEDSTOCK))
    with pytest.raises(pf.Conflict):
        remote.create(pf.BakeryCreate(**BAKERY))
    with pytest.raises(pf.ValidationError) as refused:
        remote.create(pf.RecipeRunCreate(**run_fields(bakery_id=99)))
    assert [error["loc"] for error in refused.value.errors] == [["body", "bakery_id"]]
    with pytest.raises(pf.ValidationError) as refused:
        remote.bakeries(limit=101)
    assert refused.value.errors[0]["loc"] == ["query", "limit"]
    with pytest.raises(pf.ValidationError):
        remote.datasets(1, "some")
    with pytest.raises(pf.HttpError) as unauthorised:
        pf.Client(server).delete_bakery(1)
    assert unauthorised.value.status == 403 and server in str(unauthorised.value)
    with pytest.raises(pf.HttpError, match="401.*Invalid API Key") as wrong:
        pf.Client(server, api_key="guess").delete_bakery(1)
    assert "guess" not in str(wrong.value) and isinstance(wrong.value, pf.Error)


def test_datasets_and_stats(remote):
    remote.create(pf.BakeryCreate(**BAKERY))
    remote.create(pf.FeedstockCreate(**FEEDSTOCK))
    done = run_fields(conclusion="success", dataset_type="zarr", dataset_public_url="https://x/a.zarr")
    remote.create(pf.RecipeRunCreate(**done))
    remote.create(pf.RecipeRunCreate(**dict(done, is_test=True)))
    assert [d.is_test for d in remote.datasets(1, "production")] == [False]
    assert len(remote.datasets(1)) == 2
    assert remote.count_datasets() == 2 and remote.count_datasets(exclude_test_runs=True) == 1
    assert (remote.count_bakeries(), remote.count_feedstocks(), remote.count_recipe_runs()) == (1, 1, 2)


def test_request_returns_any_status(remote):
    missing = remote.request("GET", "/nothing/")
    assert missing.status == 404 and missing.json() == {"detail": "Not Found"}
    created = remote.request("POST", "/bakeries/", BAKERY)
    assert created.status == 200 and created.json()["id"] == 1


def test_claim_heartbeat_and_complete_over_http(remote):
    remote.create(pf.BakeryCreate(**BAKERY))
    remote.create(pf.FeedstockCreate(**FEEDSTOCK))
    remote.create(pf.RecipeRunCreate(**run_fields()))
    claim = remote.claim(pf.ClaimRequest(bakery=BAKERY["name"], worker="host:1"))
    assert isinstance(claim, pf.Claim) and claim.attempt == 1
    assert claim.recipe_run.id == 1 and claim.recipe_run.status == "in_progress"
    assert claim.lease_expires_at > datetime.now(timezone.utc)
    assert remote.claim(pf.ClaimRequest(bakery=BAKERY["name"], worker="host:2")) is None
    with pytest.raises(pf.NotFound):
        remote.claim(pf.ClaimRequest(bakery="nobody", worker="host:1"))
    beat = remote.heartbeat(1, pf.HeartbeatRequest(attempt=1, lease_seconds=30))
    assert isinstance(beat, pf.Heartbeat) and not beat.cancelled
    with pytest.raises(pf.Conflict):
        remote.heartbeat(1, pf.HeartbeatRequest(attempt=2))
    run = remote.complete(1, pf.Report(attempt=1, outcome=pf.Outcome.failure, trace="boom"))
    assert isinstance(run, pf.RecipeRun) and run.status == "completed" and run.conclusion == "failure"


def test_dispatch_in_process(forge):
    forge.create(pf.BakeryCreate(**BAKERY))
    forge.create(pf.FeedstockCreate(**FEEDSTOCK))
    forge.create(pf.RecipeRunCreate(**run_fields()))
    claim = forge.claim(pf.ClaimRequest(bakery=BAKERY["name"], worker="w", lease_seconds=1))
    assert claim.recipe_run.id == 1
    time.sleep(1.2)
    assert forge.expire_leases() == 1  # the lease ran out: queued again
    assert forge.recipe_run(1).status == "queued"
    again = forge.claim(pf.ClaimRequest(bakery=BAKERY["name"], worker="w"))
    assert again.attempt == 2
    submitted = forge.complete(1, pf.Report(attempt=2, outcome="submitted", job_id="j-1"))
    assert submitted.status == "in_progress"


def test_dispatch_values_validate_and_round_trip():
    report = pf.Report(attempt=1, outcome="success", dataset_public_url="https://x/a.zarr", dataset_type="zarr")
    assert report.outcome == pf.Outcome.success and report.dataset_type == pf.DatasetType.zarr
    assert pf.Report.from_json(report.to_json()) == report
    assert report.to_dict()["outcome"] == "success"
    assert pf.ClaimRequest(bakery="b", worker="w").lease_seconds == 60
    assert pf.Report(outcome="submitted", job_name="j").job_deadline_seconds == 172800
    with pytest.raises(pf.ValidationError) as refused:
        pf.Report(outcome="success", trace="boom")
    assert refused.value.errors[0]["loc"] == ["body", "trace"]
    with pytest.raises(pf.ValidationError) as refused:
        pf.ClaimRequest(bakery="", worker="w", lease_seconds=0)
    assert [error["loc"][-1] for error in refused.value.errors] == ["bakery", "lease_seconds"]
    beat = pf.Heartbeat(cancelled=True, lease_expires_at="2021-01-01T00:00:00Z")
    assert beat.lease_expires_at == datetime(2021, 1, 1, tzinfo=timezone.utc)
    assert pf.HeartbeatRequest(attempt=2).replace(lease_seconds=10).lease_seconds == 10


def test_a_server_that_is_away_is_a_connection_error_naming_it():
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    client = pf.Client(url, retries=1)
    with pytest.raises(pf.ConnectionError, match=f"cannot reach the server {url}") as away:
        client.count_bakeries()
    assert isinstance(away.value, ConnectionError) and isinstance(away.value, pf.Error)
    with pytest.raises(pf.ConfigError):
        pf.Client("localhost:8000")
    assert pf.Client(url + "/").server == url


def test_threads_share_one_client_and_wait_without_the_gil(remote):
    remote.create(pf.BakeryCreate(**BAKERY))
    counts = []

    def read():
        for _ in range(10):
            counts.append(remote.count_bakeries())

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == [1] * 40
