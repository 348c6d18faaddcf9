"""The HTTP API's routes through pangeo_forge.Router, as a Python web framework would
call them: the same matrix as the service's API, statuses and bodies."""

import pytest

import pangeo_forge as pf
from fields import API_KEY, BAKERY, FEEDSTOCK, run_fields


def call(router, method, path, body=None, key=API_KEY, headers=None):
    sent = dict(headers or {})
    if key is not None:
        sent["X-API-Key"] = key
    return router.handle(method, path, headers=sent, body=body)


def ok(router, method, path, body=None):
    response = call(router, method, path, body)
    assert response.status == 200, f"{method} {path}: {response.body}"
    return response.json()


def fields_of(response):
    assert response.status == 422, response.body
    return [problem["loc"][-1] for problem in response.json()["detail"]]


def test_root_says_ok(router):
    assert ok(router, "GET", "/") == {"status": "ok"}


def test_create_with_all_fields_and_with_defaults(router):
    assert ok(router, "POST", "/bakeries/", BAKERY)["id"] == 1
    assert ok(router, "POST", "/feedstocks/", FEEDSTOCK)["provider"] == "github"
    full = run_fields(message="running", status="in_progress", is_test=True, dataset_type="zarr",
                      dataset_public_url="https://x/a.zarr")
    run = ok(router, "POST", "/recipe_runs/", full)
    assert run["status"] == "in_progress" and run["is_test"] is True
    defaults = ok(router, "POST", "/recipe_runs/", run_fields())
    assert defaults["status"] == "queued" and defaults["is_test"] is False and defaults["conclusion"] is None


@pytest.mark.parametrize("field", ["region", "name", "description"])
def test_each_missing_bakery_field_is_a_422(router, field):
    body = {k: v for k, v in BAKERY.items() if k != field}
    assert fields_of(call(router, "POST", "/bakeries/", body)) == [field]


@pytest.mark.parametrize("field, value", [
    ("bakery_id", "one"), ("status", "done"), ("started_at", "yesterday"), ("version", "v1"), ("is_test", "no"),
    ("id", 7), ("colour", "red"), ("conclusion", "stale"), ("bakery_id", 99)])
def test_each_bad_run_value_is_a_422_naming_it(router, field, value):
    ok(router, "POST", "/bakeries/", BAKERY)
    ok(router, "POST", "/feedstocks/", FEEDSTOCK)
    assert fields_of(call(router, "POST", "/recipe_runs/", run_fields(**{field: value}))) == [field]


def test_a_body_that_is_not_json_is_a_422(router):
    response = call(router, "POST", "/bakeries/", b"{oops")
    assert response.status == 422 and response.json()["detail"][0]["type"] == "value_error.jsondecode"


def test_read_a_range_and_one_with_relations(router):
    ok(router, "POST", "/bakeries/", BAKERY)
    ok(router, "POST", "/feedstocks/", FEEDSTOCK)
    for _ in range(3):
        ok(router, "POST", "/recipe_runs/", run_fields())
    assert len(ok(router, "GET", "/recipe_runs/")) == 3
    page = router.handle("GET", "/recipe_runs/", query={"offset": 1, "limit": 1, "order_by": "id", "sort": "desc"})
    assert [run["id"] for run in page.json()] == [2]
    assert [run["id"] for run in ok(router, "GET", "/recipe_runs/?offset=1&limit=1&sort=desc")] == [2]
    run = ok(router, "GET", "/recipe_runs/1")
    assert run["bakery"]["name"] == BAKERY["name"] and run["feedstock"]["spec"] == FEEDSTOCK["spec"]
    assert len(ok(router, "GET", "/bakeries/1")["recipe_runs"]) == 3
    assert len(ok(router, "GET", "/feedstocks/1/")["recipe_runs"]) == 3


def test_missing_ids_are_404_and_bad_ids_422(router):
    missing = call(router, "GET", "/bakeries/9")
    assert missing.status == 404 and missing.json() == {"detail": "Bakery not found"}
    assert call(router, "DELETE", "/recipe_runs/9").status == 404
    assert call(router, "PATCH", "/feedstocks/9", {}).status == 404
    assert fields_of(call(router, "GET", "/bakeries/abc")) == ["id"]
    assert call(router, "GET", "/nothing/").status == 404
    assert call(router, "PUT", "/bakeries/").status == 405


def test_partial_update_and_delete(router):
    ok(router, "POST", "/bakeries/", BAKERY)
    updated = ok(router, "PATCH", "/bakeries/1", {"description": "moved"})
    assert updated["description"] == "moved" and updated["region"] == BAKERY["region"]
    assert fields_of(call(router, "PATCH", "/bakeries/1", {"name": None})) == ["name"]
    assert ok(router, "DELETE", "/bakeries/1") == {"ok": True}
    assert call(router, "GET", "/bakeries/1").status == 404


def test_writes_need_a_valid_key(router, forge):
    absent = call(router, "POST", "/bakeries/", BAKERY, key=None)
    assert absent.status == 403 and absent.json() == {"detail": "Not authenticated"}
    wrong = call(router, "POST", "/bakeries/", BAKERY, key="guess")
    assert wrong.status == 401 and wrong.json() == {"detail": "Invalid API Key"}
    assert call(router, "POST", "/bakeries/", BAKERY, key="another-key").status == 200
    assert call(router, "DELETE", "/bakeries/1", key=None).status == 403
    assert call(router, "GET", "/bakeries/", key=None).status == 200  # reads are open
    closed = pf.Router(forge, api_keys=[])  # no key configured: writes are refused, not open
    assert call(closed, "POST", "/bakeries/", BAKERY, key="anything").status == 401


def test_keys_come_from_the_environment_by_default(forge, monkeypatch):
    monkeypatch.setenv("PANGEO_FORGE_API_KEY", "one,two")
    router = pf.Router(forge)
    assert call(router, "POST", "/bakeries/", BAKERY, key="two").status == 200
    assert call(router, "POST", "/bakeries/", BAKERY, key="three").status == 401


def test_pagination_bounds_and_order_by_injection_are_refused(router):
    assert fields_of(call(router, "GET", "/bakeries/?limit=101")) == ["limit"]
    assert fields_of(call(router, "GET", "/bakeries/?offset=-1")) == ["offset"]
    assert fields_of(call(router, "GET", "/bakeries/?limit=ten")) == ["limit"]
    assert fields_of(call(router, "GET", "/bakeries/?sort=sideways")) == ["sort"]
    for attempt in ("name%3B%20DROP%20TABLE%20bakery", "id%20DESC", "(SELECT%201)"):
        assert fields_of(call(router, "GET", "/bakeries/?order_by=" + attempt)) == ["order_by"]
    assert ok(router, "GET", "/stats/bakeries")["count"] == 0


def test_datasets_and_stats_routes(router):
    ok(router, "POST", "/bakeries/", BAKERY)
    ok(router, "POST", "/feedstocks/", FEEDSTOCK)
    done = run_fields(conclusion="success", dataset_type="zarr", dataset_public_url="https://x/a.zarr")
    ok(router, "POST", "/recipe_runs/", done)
    ok(router, "POST", "/recipe_runs/", {**done, "is_test": True})
    ok(router, "POST", "/recipe_runs/", run_fields())
    assert len(ok(router, "GET", "/feedstocks/1/datasets")) == 2
    assert ok(router, "GET", "/feedstocks/1/datasets?type=production") == [{
        "recipe_id": "noaa-oisst-avhrr-only", "feedstock_id": 1, "dataset_type": "zarr",
        "dataset_public_url": "https://x/a.zarr", "is_test": False}]
    assert fields_of(call(router, "GET", "/feedstocks/1/datasets?type=some")) == ["type"]
    assert ok(router, "GET", "/stats/recipe_runs") == {"count": 3}
    assert ok(router, "GET", "/stats/feedstocks") == {"count": 1}
    assert ok(router, "GET", "/stats/datasets") == {"count": 2}
    assert ok(router, "GET", "/stats/datasets?exclude_test_runs=true") == {"count": 1}


def test_cors_headers_as_the_service_sends_them(router):
    response = call(router, "GET", "/stats/bakeries", headers={"Origin": "https://pangeo-forge.org"})
    assert ("access-control-allow-origin", "*") in response.headers
    preflight = call(router, "OPTIONS", "/bakeries/", key=None, headers={
        "Origin": "https://pangeo-forge.org", "Access-Control-Request-Headers": "x-api-key"})
    assert preflight.status == 200
    assert ("access-control-allow-headers", "x-api-key") in preflight.headers


def test_deleting_a_bakery_in_use_is_a_409(router):
    ok(router, "POST", "/bakeries/", BAKERY)
    ok(router, "POST", "/feedstocks/", FEEDSTOCK)
    ok(router, "POST", "/recipe_runs/", run_fields())
    response = call(router, "DELETE", "/bakeries/1")
    assert response.status == 409 and "used by 1 recipe run" in response.json()["detail"]


def test_the_openapi_document(router):
    document = ok(router, "GET", "/openapi.json")
    assert document == pf.openapi_document()
    assert document["openapi"] == "3.0.2"
    for path in ("/", "/bakeries/", "/bakeries/{id}", "/feedstocks/{id}/datasets", "/recipe_runs/{id}",
                 "/stats/datasets"):
        assert path in document["paths"]


def test_headers_may_be_bytes_and_keys_need_not_be_ascii(forge):
    router = pf.Router(forge, api_keys=["clé"])
    assert call(router, "POST", "/bakeries/", BAKERY, key=None,
                headers={b"X-API-Key": "clé".encode()}).status == 200
    assert call(router, "POST", "/bakeries/", {**BAKERY, "name": "b"}, key="clé").status == 200
    with pytest.raises(TypeError, match="header"):
        router.handle("GET", "/", headers={"x-api-key": 5})


def test_a_body_that_is_not_unicode_is_a_value_error(router):
    with pytest.raises(ValueError):
        router.handle("POST", "/bakeries/", headers={"x-api-key": API_KEY}, body="\udcff")
