"""Records a recipe run's lifecycle, as a bakery reports it: the run is queued, starts,
and completes with a conclusion and a dataset; then the feedstock's datasets and the
stats are read back. Uses DATABASE_URL (default: pangeo_forge.db here), upgraded to head
first.

    python examples/python/record_recipe_run.py
"""

import sys
from datetime import datetime, timezone

import pangeo_forge as pf


def find_or_create_bakery(forge: pf.Orchestrator, name: str) -> pf.Bakery:
    for bakery in forge.bakeries(order_by="name"):
        if bakery.name == name:
            return bakery
    return forge.create(pf.BakeryCreate(region="us-central1", name=name, description="Dataflow on GCP"))


def main() -> int:
    try:
        database = pf.Database()
        pf.Migrations(database).upgrade("head")
        forge = pf.Orchestrator(database)

        bakery = find_or_create_bakery(forge, "pangeo-ldeo-nsf-earthcube")
        feedstock = forge.create(pf.FeedstockCreate(spec="pangeo-forge/noaa-oisst-avhrr-only-feedstock"))
        run = forge.create(pf.RecipeRunCreate(
            recipe_id="noaa-oisst-avhrr-only", bakery_id=bakery.id, feedstock_id=feedstock.id,
            head_sha="035ee3e8d8d8c6a8", version="1.0", started_at=datetime.now(timezone.utc)))
        print(f"recipe run {run.id}: {run.status}")

        run = forge.update(run.id, pf.RecipeRunUpdate(status=pf.RecipeRunStatus.in_progress, message="storing"))
        print(f"recipe run {run.id}: {run.status} ({run.message})")

        # A conclusion completes the run; completed_at is stamped by the library.
        run = forge.update(run.id, pf.RecipeRunUpdate(
            conclusion=pf.RecipeRunConclusion.success, dataset_type=pf.DatasetType.zarr,
            dataset_public_url="https://storage.googleapis.com/pangeo-forge/noaa-oisst.zarr"))
        print(f"recipe run {run.id}: {run.status}, {run.conclusion}, completed {run.completed_at.isoformat()}")

        stored = forge.recipe_run(run.id)
        print(f"  in bakery {stored.bakery.name}, from feedstock {stored.feedstock.spec}")
        for dataset in forge.datasets(feedstock.id, "production"):
            print(f"  dataset: {dataset.dataset_public_url} ({dataset.dataset_type})")
        print(f"stats: {forge.count_recipe_runs()} recipe runs, {forge.count_datasets(exclude_test_runs=True)} "
              f"production datasets")
        return 0
    except pf.Error as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
