"""The audio cache over HTTP, for an Asterisk on another host: it plays
`sound:http://<minibot>/audio/<xx>/<key>.wav` through its media cache (res_http_media_cache).

Read-only, and only names the cache could have written: two hex digits, then a 32-hex key with
a known extension, so no request reaches a file outside the cache.
"""

from __future__ import annotations

import re

from aiohttp import web

from .cache import AudioCache

_NAME = re.compile(r"^(?P<key>[0-9a-f]{32})\.(?P<ext>wav|sln16)$")
_TYPES = {"wav": "audio/wav", "sln16": "audio/L16;rate=16000"}


def audio_app(cache: AudioCache) -> web.Application:
    async def get(request: web.Request) -> web.StreamResponse:
        prefix, name = request.match_info["prefix"], request.match_info["name"]
        match = _NAME.match(name)
        if match is None or match["key"][:2] != prefix:
            raise web.HTTPNotFound(text="no such audio")
        path = cache.directory / prefix / name
        if not path.is_file():
            raise web.HTTPNotFound(text="no such audio")
        # Rendered lines never change under a key: Asterisk's media cache may keep them.
        headers = {"Content-Type": _TYPES[match["ext"]], "Cache-Control": "public, max-age=86400, immutable"}
        return web.FileResponse(path, headers=headers)

    app = web.Application()
    app.router.add_get("/audio/{prefix}/{name}", get)
    return app
