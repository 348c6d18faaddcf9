"""A worker embedded in a Python program: the bakery's queued runs, executed by a function.

The orchestrator is in-process over a SQLite file (DATABASE_URL, else ./worker_example.db);
against a server, give Worker the server's URL and api_key= instead. Run it twice: the runs
of the first time are completed, the new ones run.
"""

import os
from datetime import datetime, timezone

import pangeo_forge as pf

db = pf.Database(os.environ.get("DATABASE_URL", "sqlite:///worker_example.db"))
pf.Migrations(db).upgrade("head")
forge = pf.Orchestrator(db)

bakery = next((b for b in forge.bakeries() if b.name == "example-bakery"), None) or forge.create(
    pf.BakeryCreate(region="local", name="example-bakery", description="runs recipes in this process"))
feedstock = forge.create(pf.FeedstockCreate(spec="pangeo-forge/gpcp-feedstock"))
for recipe, is_test in (("gpcp", False), ("gpcp-daily", True)):
    forge.create(pf.RecipeRunCreate(recipe_id=recipe, bakery_id=bakery.id, feedstock_id=feedstock.id,
                                    head_sha="035ee3e8", version="1.0", is_test=is_test,
                                    started_at=datetime.now(timezone.utc)))


def bake(run: pf.RecipeRunWithRelations, attempt: int, stop: pf.StopCheck):
    """Stands for the real work; it checks `stop` between steps and gives up when told."""
    for step in range(3):
        if stop.wait(0.05):
            return {"outcome": "released"}
    if run.recipe_id.endswith("daily"):
        raise RuntimeError("no daily inputs in this example")
    return None  # success: the dataset URL comes from public_url_template


worker = pf.Worker(forge, "example-bakery", executor=bake, once=True, concurrency=2,
                   public_url_template="https://data.example.org/{path}", log=print)
summary = worker.run()
print(summary)
for run in forge.recipe_runs(limit=100, order_by="id", sort="desc")[:2]:
    print(f"recipe run {run.id}: {run.status}, {run.conclusion}, {run.dataset_public_url or run.message}")
