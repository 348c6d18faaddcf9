"""pangeo_forge.asgi: the router as an ASGI application, driven as an ASGI server
drives it."""

import asyncio
import json

import pangeo_forge as pf
from pangeo_forge.asgi import ASGIApp

from fields import API_KEY, BAKERY


def request(app, method, path, body=b"", headers=(), root_path=""):
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path,
             "query_string": b"", "headers": [(k.encode(), v.encode()) for k, v in headers]}
    if "?" in path:
        scope["path"], query = path.split("?", 1)
        scope["query_string"] = query.encode()
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
    status, _, body = request(app, "GET", "/bakeries/?limit=1")
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
