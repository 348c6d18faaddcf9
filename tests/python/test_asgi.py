"""pangeo_forge.asgi: the router as an ASGI application, driven as an ASGI server
drives it."""

import asyncio
import json

import pangeo_forge as pf
from pangeo_forge.asgi import ASGIApp

from fields import API_KEY, BAKERY


def request(app, method, path, body=b"", headers=(), root_path="", query=b""):
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path,
             "query_string": query, "headers": [(k.encode(), v.encode()) for k, v in headers]}
    chunks = [body[:3], body[3:]] if body else [b""]
    incoming = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, body_message = sent
    return start["status"], dict(start["headers"]), json.loads(body_message["body"])


def test_get_and_post_through_asgi(router):
    app = ASGIApp(router)
    status, headers, body = request(app, "POST", "/bakeries/", json.dumps(BAKERY).encode(),
                                    headers=[("X-API-Key", API_KEY), ("content-type", "application/json")])
    assert status == 200 and body["id"] == 1
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) > 0
    status, _, body = request(app, "GET", "/bakeries/", query=b"limit=1")
    assert status == 200 and [b["name"] for b in body] == [BAKERY["name"]]
    status, _, body = request(app, "POST", "/bakeries/", json.dumps(BAKERY).encode())
    assert status == 403


def test_mounted_under_a_prefix(router):
    status, _, body = request(ASGIApp(router), "GET", "/orchestrator/stats/bakeries", root_path="/orchestrator")
    assert status == 200 and body == {"count": 0}


def test_lifespan_is_acknowledged(router):
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(ASGIApp(router)({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_a_decoded_question_mark_stays_in_the_path(router):
    # The client sent /bakeries/%3Flimit=0: a path segment, not a query.
    status, _, body = request(ASGIApp(router), "GET", "/bakeries/?limit=0")
    assert status in (404, 422) and "limit" not in str(body.get("detail", ""))


def test_a_prefix_is_only_stripped_at_a_segment_boundary(router):
    status, _, _ = request(ASGIApp(router), "GET", "/apix/stats/bakeries", root_path="/api")
    assert status == 404


def test_non_ascii_header_values_reach_the_router_as_sent(forge):
    app = ASGIApp(pf.Router(forge, api_keys=["clé"]))
    scope_headers = [("x-api-key", "clé")]
    status, _, _ = request(app, "POST", "/bakeries/", json.dumps(BAKERY).encode(), headers=scope_headers)
    assert status == 200


def test_a_body_over_the_limit_is_refused_before_the_router(router):
    app = ASGIApp(router)
    assert app.max_body_bytes == pf.MAX_BODY_BYTES == 1024 * 1024
    big = json.dumps(dict(BAKERY, description="x" * (pf.MAX_BODY_BYTES + 1))).encode()
    status, _, body = request(app, "POST", "/bakeries/", big,
                              headers=[("X-API-Key", API_KEY), ("content-type", "application/json")])
    assert status == 413 and body == {"detail": "Request Entity Too Large"}
    status, _, body = request(app, "GET", "/bakeries/")
    assert status == 200 and body == []
