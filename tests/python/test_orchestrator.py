"""The orchestrator from Python: create, read with relations, pages, update, delete,
the recipe-run lifecycle, datasets and stats, and the errors each raises."""

from datetime import datetime, timezone

import pytest

import pangeo_forge as pf
from fields import BAKERY, FEEDSTOCK, run_fields


def create_run(forge, **changes):
    return forge.create(pf.RecipeRunCreate(**run_fields(**changes)))


def test_create_returns_the_stored_row_with_its_id(forge):
    bakery = forge.create(pf.BakeryCreate(**BAKERY))
    assert isinstance(bakery, pf.Bakery) and bakery.id == 1 and bakery.name == BAKERY["name"]
    feedstock = forge.create(pf.FeedstockCreate(**FEEDSTOCK))
    assert isinstance(feedstock, pf.Feedstock) and feedstock.provider == "github"
    run = create_run(forge, message="queued up")
    assert isinstance(run, pf.RecipeRun) and run.id == 1 and run.message == "queued up"
    assert run.started_at == datetime(2021, 1, 1, tzinfo=timezone.utc)


def test_reads_with_relations(stocked):
    forge, bakery, feedstock = stocked
    for _ in range(3):
        create_run(forge)
    run = forge.recipe_run(2)
    assert isinstance(run, pf.RecipeRunWithRelations)
    assert run.id == 2 and run.recipe_id == "noaa-oisst-avhrr-only"
    assert run.bakery == bakery and run.feedstock == feedstock
    with_runs = forge.bakery(bakery.id)
    assert with_runs.name == BAKERY["name"] and [r.id for r in with_runs.recipe_runs] == [1, 2, 3]
    assert [r.id for r in forge.feedstock(feedstock.id).recipe_runs] == [1, 2, 3]
    assert run.to_dict()["bakery"] == bakery.to_dict()


def test_pages(stocked):
    forge, _, _ = stocked
    for index in range(5):
        create_run(forge, recipe_id=f"recipe-{index}")
    assert [r.id for r in forge.recipe_runs()] == [1, 2, 3, 4, 5]
    assert [r.id for r in forge.recipe_runs(offset=1, limit=2, sort="desc")] == [4, 3]
    assert [r.recipe_id for r in forge.recipe_runs(order_by="recipe_id", sort="desc", limit=1)] == ["recipe-4"]


@pytest.mark.parametrize("page, field", [
    ({"limit": 101}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset"),
    ({"order_by": "name; DROP TABLE bakery"}, "order_by"), ({"sort": "sideways"}, "sort")])
def test_bad_pages_are_refused_naming_the_query_field(forge, page, field):
    with pytest.raises(pf.ValidationError) as raised:
        forge.bakeries(**page)
    assert [problem["loc"] for problem in raised.value.errors] == [["query", field]]
    assert forge.count_bakeries() == 0  # and the table is still there


def test_missing_rows_are_not_found(forge):
    with pytest.raises(pf.NotFound, match="Bakery not found"):
        forge.bakery(9)
    with pytest.raises(pf.NotFound, match="Feedstock not found"):
        forge.update(9, pf.FeedstockUpdate(spec="x/y"))
    with pytest.raises(pf.NotFound):
        forge.delete_recipe_run(9)


def test_unknown_references_are_validation_errors_on_their_fields(stocked):
    forge, _, _ = stocked
    with pytest.raises(pf.ValidationError) as raised:
        create_run(forge, bakery_id=99, feedstock_id=98)
    assert sorted(problem["loc"][-1] for problem in raised.value.errors) == ["bakery_id", "feedstock_id"]
    assert forge.count_recipe_runs() == 0


def test_partial_update_changes_only_what_was_sent(stocked):
    forge, bakery, _ = stocked
    updated = forge.update(bakery.id, pf.BakeryUpdate(description="moved"))
    assert updated.description == "moved" and updated.region == BAKERY["region"]
    run = create_run(forge, message="hi")
    cleared = forge.update(run.id, pf.RecipeRunUpdate(message=None))
    assert cleared.message is None and cleared.recipe_id == run.recipe_id


def test_bakery_names_are_unique(forge):
    forge.create(pf.BakeryCreate(**BAKERY))
    with pytest.raises(pf.Conflict, match="name"):
        forge.create(pf.BakeryCreate(**BAKERY))
    other = forge.create(pf.BakeryCreate(**{**BAKERY, "name": "other"}))
    with pytest.raises(pf.Conflict):
        forge.update(other.id, pf.BakeryUpdate(name=BAKERY["name"]))


def test_a_bakery_in_use_cannot_be_deleted(stocked):
    forge, bakery, feedstock = stocked
    run = create_run(forge)
    with pytest.raises(pf.Conflict, match="used by 1 recipe run"):
        forge.delete_bakery(bakery.id)
    with pytest.raises(pf.Conflict):
        forge.delete_feedstock(feedstock.id)
    forge.delete_recipe_run(run.id)
    forge.delete_bakery(bakery.id)
    forge.delete_feedstock(feedstock.id)
    assert (forge.count_bakeries(), forge.count_feedstocks(), forge.count_recipe_runs()) == (0, 0, 0)


class TestLifecycle:
    def test_a_conclusion_completes_the_run_and_stamps_completed_at(self, stocked):
        forge, _, _ = stocked
        run = create_run(forge)
        before = datetime.now(timezone.utc)
        done = forge.update(run.id, pf.RecipeRunUpdate(conclusion="success"))
        assert done.status == pf.RecipeRunStatus.completed
        assert done.completed_at is not None and done.completed_at >= before.replace(microsecond=0)

    def test_completed_without_a_conclusion_is_refused(self, stocked):
        forge, _, _ = stocked
        with pytest.raises(pf.ValidationError) as raised:
            create_run(forge, status="completed")
        assert raised.value.errors[0]["loc"] == ["body", "status"]

    def test_stale_is_not_for_clients(self, stocked):
        forge, _, _ = stocked
        with pytest.raises(pf.ValidationError):
            create_run(forge, conclusion="stale")

    def test_completed_before_started_is_refused(self, stocked):
        forge, _, _ = stocked
        with pytest.raises(pf.ValidationError) as raised:
            create_run(forge, conclusion="failure", completed_at="2020-12-31T23:59:59Z")
        assert raised.value.errors[0]["loc"] == ["body", "completed_at"]

    def test_reopening_clears_completed_at(self, stocked):
        forge, _, _ = stocked
        run = create_run(forge, conclusion="success")
        reopened = forge.update(run.id, pf.RecipeRunUpdate(status="in_progress", conclusion=None))
        assert reopened.status == "in_progress" and reopened.completed_at is None


def test_datasets_and_stats(stocked):
    forge, _, feedstock = stocked
    done = dict(conclusion="success", dataset_type="zarr", dataset_public_url="https://x/a.zarr")
    create_run(forge, **done)
    create_run(forge, is_test=True, **done)
    create_run(forge)
    datasets = forge.datasets(feedstock.id)
    assert len(datasets) == 2 and all(isinstance(d, pf.Dataset) for d in datasets)
    production = forge.datasets(feedstock.id, "production")
    assert [d.to_dict() for d in production] == [{
        "recipe_id": "noaa-oisst-avhrr-only", "feedstock_id": feedstock.id, "dataset_type": pf.DatasetType.zarr,
        "dataset_public_url": "https://x/a.zarr", "is_test": False}]
    assert [d.is_test for d in forge.datasets(feedstock.id, "test")] == [True]
    with pytest.raises(ValueError, match="production"):
        forge.datasets(feedstock.id, "some")
    assert forge.count_recipe_runs() == 3 and forge.count_feedstocks() == 1 and forge.count_bakeries() == 1
    assert forge.count_datasets() == 2 and forge.count_datasets(exclude_test_runs=True) == 1
