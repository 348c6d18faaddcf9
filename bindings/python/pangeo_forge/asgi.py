"""The API as an ASGI application, for any ASGI server or framework.

    from pangeo_forge.asgi import ASGIApp
    app = ASGIApp(router)                   # uvicorn module:app
    fastapi_app.mount("/orchestrator", ASGIApp(router))

Each request is handed to Router.handle() on a worker thread (the router releases
the GIL), so the event loop keeps serving while the database works.
"""

import asyncio
from typing import Any, Awaitable, Callable, Dict, List, MutableMapping, Optional

from ._core import MAX_BODY_BYTES, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ASGIApp:
    """Serves Router.handle() over ASGI's HTTP protocol."""

    def __init__(self, router: Router, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.router = router
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"pangeo_forge.asgi serves HTTP only, not {scope['type']!r}")
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:  # over the limit: never reaches the router, as with `serve`
            await _send_json(send, 413, b'{"detail":"Request Entity Too Large"}')
            return
        headers: Dict[bytes, bytes] = dict(scope.get("headers", []))  # bytes as they came
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(
            None,
            lambda: self.router.handle(
                scope["method"],
                _route_path(scope),
                query=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body,
            ),
        )
        encoded = response.body.encode("utf-8")
        response_headers: List[List[bytes]] = [
            [name.lower().encode("latin-1"), value.encode("latin-1")] for name, value in response.headers
        ]
        if not any(name == b"content-length" for name, _ in response_headers):
            response_headers.append([b"content-length", str(len(encoded)).encode()])
        await send({"type": "http.response.start", "status": response.status, "headers": response_headers})
        await send({"type": "http.response.body", "body": encoded})


def _route_path(scope: Scope) -> str:
    # Mounted under a prefix, the route is what follows the prefix (root_path).
    path: str = scope["path"]
    root = scope.get("root_path", "").rstrip("/")
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root):] or "/"
    # The path arrives percent-decoded; a '?' in it was %3F, part of the path, not a query.
    return path.replace("?", "%3F")


async def _read_body(receive: Receive, limit: int) -> Optional[bytes]:
    """The whole body, or None as soon as it grows past `limit` bytes."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send_json(send: Send, status: int, body: bytes) -> None:
    headers = [[b"content-type", b"application/json"], [b"content-length", str(len(body)).encode()]]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
