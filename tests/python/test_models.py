"""The data model from Python: keyword construction validated by the library, attributes
as Python values, dicts and JSON both ways, immutability."""

import json
from datetime import datetime, timedelta, timezone

import pytest

import pangeo_forge as pf
from fields import BAKERY, run_fields


def fields_of(error):
    return [problem["loc"][-1] for problem in error.errors]


def test_keyword_construction_gives_attributes():
    bakery = pf.BakeryCreate(**BAKERY)
    assert (bakery.region, bakery.name, bakery.description) == (BAKERY["region"], BAKERY["name"], "great")
    assert pf.FeedstockCreate(spec="a/b-feedstock").provider == pf.RepoProvider.github


def test_defaults_of_a_recipe_run():
    run = pf.RecipeRunCreate(**run_fields())
    assert run.status == pf.RecipeRunStatus.queued
    assert run.status == "queued"  # str enums compare equal to their spelling
    assert run.is_test is False
    assert run.conclusion is None and run.completed_at is None and run.dataset_type is None


def test_every_problem_is_reported_at_once_in_fastapis_shape():
    with pytest.raises(pf.ValidationError) as raised:
        pf.RecipeRunCreate(**run_fields(bakery_id="one", status="done", version="v1", colour="red"))
    assert sorted(fields_of(raised.value)) == ["bakery_id", "colour", "status", "version"]
    for problem in raised.value.errors:
        assert problem["loc"][0] == "body" and problem["msg"] and problem["type"]
    assert "4 validation errors" in str(raised.value)


def test_missing_fields_are_named():
    with pytest.raises(pf.ValidationError) as raised:
        pf.BakeryCreate(region="us-central1")
    assert raised.value.errors == [
        {"loc": ["body", "name"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["body", "description"], "msg": "field required", "type": "value_error.missing"},
    ]


def test_enum_errors_list_the_permitted_values():
    with pytest.raises(pf.ValidationError) as raised:
        pf.RecipeRunCreate(**run_fields(status="done"))
    problem = raised.value.errors[0]
    assert problem["type"] == "type_error.enum"
    assert problem["ctx"]["enum_values"] == ["queued", "in_progress", "completed"]


def test_enums_are_str_enums_with_the_services_spellings():
    assert [m.value for m in pf.RecipeRunConclusion] == [
        "action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"]
    assert str(pf.DatasetType.zarr) == "zarr" and f"{pf.DatasetType.zarr}" == "zarr"
    assert pf.RecipeRunCreate(**run_fields(status=pf.RecipeRunStatus.in_progress)).status == "in_progress"


def test_an_id_cannot_be_set_on_create():
    with pytest.raises(pf.ValidationError) as raised:
        pf.BakeryCreate(id=7, **BAKERY)
    assert fields_of(raised.value) == ["id"]


def test_models_are_immutable_and_replace_validates_again():
    run = pf.RecipeRunCreate(**run_fields())
    with pytest.raises(AttributeError):
        run.version = "2.0"
    assert run.replace(version="2.0").version == "2.0"
    assert run.version == "1.0"
    with pytest.raises(pf.ValidationError) as raised:
        run.replace(version="two")
    assert fields_of(raised.value) == ["version"]


def test_dict_and_json_round_trip():
    run = pf.RecipeRunCreate(**run_fields(message="hello", dataset_type="zarr", is_test=True))
    assert pf.RecipeRunCreate.from_dict(run.to_dict()) == run
    assert pf.RecipeRunCreate.from_json(run.to_json()) == run
    as_json = json.loads(run.to_json())
    assert as_json["started_at"] == "2021-01-01T00:00:00Z"
    assert as_json["dataset_type"] == "zarr"
    assert run.to_dict()["started_at"] == datetime(2021, 1, 1, tzinfo=timezone.utc)


def test_bad_json_text_is_a_validation_error():
    with pytest.raises(pf.ValidationError) as raised:
        pf.BakeryCreate.from_json("{not json")
    assert raised.value.errors[0]["type"] == "value_error.jsondecode"


def test_equality_and_repr():
    assert pf.BakeryCreate(**BAKERY) == pf.BakeryCreate(**BAKERY)
    assert pf.BakeryCreate(**BAKERY) != pf.BakeryCreate(**{**BAKERY, "name": "other"})
    assert pf.BakeryCreate(**BAKERY) != BAKERY
    assert "name='pangeo-ldeo-nsf-earthcube'" in repr(pf.BakeryCreate(**BAKERY))


def test_an_update_holds_only_what_was_sent():
    update = pf.RecipeRunUpdate(conclusion="success", message=None)
    assert update.to_dict() == {"conclusion": pf.RecipeRunConclusion.success, "message": None}
    assert pf.BakeryUpdate().to_dict() == {}
    with pytest.raises(pf.ValidationError) as raised:
        pf.BakeryUpdate(name=None)  # a bakery's name is not nullable
    assert fields_of(raised.value) == ["name"]


def test_unconvertible_python_values_are_a_type_error_naming_the_field():
    with pytest.raises(TypeError, match="head_sha"):
        pf.RecipeRunCreate(**run_fields(head_sha=object()))


def test_integers_beyond_64_bits_are_refused_not_wrapped():
    with pytest.raises(pf.ValidationError) as raised:
        pf.RecipeRunCreate(**run_fields(bakery_id=2**70))
    assert fields_of(raised.value) == ["bakery_id"]


class TestDatetimes:
    def test_aware_datetimes_are_stored_in_utc(self):
        paris = timezone(timedelta(hours=2))
        run = pf.RecipeRunCreate(**run_fields(started_at=datetime(2021, 6, 1, 14, 30, 5, 123456, tzinfo=paris)))
        assert run.started_at == datetime(2021, 6, 1, 12, 30, 5, 123456, tzinfo=timezone.utc)
        assert run.started_at.tzinfo is timezone.utc

    def test_naive_datetimes_are_taken_as_utc(self):
        run = pf.RecipeRunCreate(**run_fields(started_at=datetime(2021, 6, 1, 12, 0)))
        assert run.started_at == datetime(2021, 6, 1, 12, 0, tzinfo=timezone.utc)

    def test_iso_text_with_an_offset_is_converted(self):
        run = pf.RecipeRunCreate(**run_fields(started_at="2021-06-01T12:00:00.5-05:00"))
        assert run.started_at == datetime(2021, 6, 1, 17, 0, 0, 500000, tzinfo=timezone.utc)

    def test_the_extremes_of_the_calendar_round_trip(self):
        for moment in (datetime(1, 1, 1, tzinfo=timezone.utc),
                       datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)):
            run = pf.RecipeRunCreate(**run_fields(started_at=moment))
            assert run.started_at == moment
            assert pf.RecipeRunCreate.from_json(run.to_json()).started_at == moment

    def test_an_impossible_date_is_refused(self):
        with pytest.raises(pf.ValidationError) as raised:
            pf.RecipeRunCreate(**run_fields(started_at="2021-02-30T00:00:00Z"))
        assert fields_of(raised.value) == ["started_at"]


def test_a_value_that_contains_itself_is_refused_not_a_crash():
    looped = {}
    looped["again"] = looped
    with pytest.raises(ValueError, match="nested more than 64 levels"):
        pf.BakeryCreate(region="r", name="n", description=looped)


def test_text_that_is_not_unicode_is_refused():
    with pytest.raises(ValueError):
        pf.BakeryCreate(region="r", name="\udcff", description="d")


class _NoOffset(timezone.__base__):
    def utcoffset(self, moment):
        return None

    def dst(self, moment):
        return None

    def tzname(self, moment):
        return "unknown"


class TestDatetimeZones:
    def test_a_zone_without_an_offset_is_taken_as_utc_like_a_naive_datetime(self):
        run = pf.RecipeRunCreate(**run_fields(started_at=datetime(2021, 1, 1, 9, 0, tzinfo=_NoOffset())))
        assert run.started_at == datetime(2021, 1, 1, 9, 0, tzinfo=timezone.utc)

    def test_an_offset_that_leaves_the_calendar_is_a_validation_error(self):
        with pytest.raises(pf.ValidationError) as raised:
            pf.RecipeRunCreate(**run_fields(started_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))))
        assert fields_of(raised.value) == ["started_at"]
