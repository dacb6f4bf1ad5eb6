"""``g2rec serve``: a run's model answering recommendation requests over HTTP.

An ASGI app (FastAPI) over one :class:`~.recommend.Recommender`, loaded at start and shared by
every request, served by uvicorn:

* ``GET /health``: ``{"status": "ok", "model", "items", "users"}``.
* ``POST /recommend``: ``{"user": ID}`` (a user of the run) or ``{"history": [ITEM, ...]}``
  (original item ids, oldest first), with optional ``"k"`` (default 10, at most 1000) and
  ``"exclude_history"`` (default false); or a JSON list of such objects for a batch. Answers
  ``{"items", "scores", "interests"}`` in original ids (with ``"user"``, or ``"unknown_items"``
  for a history), or a list of them in the request's order. Scores are log-probabilities of
  being the next item (:mod:`.recommend`).

A malformed request gets 400 (404 for an unknown user) with ``{"error": "..."}`` naming what is
wrong; the server goes on serving. Needs the ``serve`` extra (``pip install -e ".[serve]"``).
"""

import importlib
import json
from pathlib import Path

from ..errors import G2RecError
from .recommend import Recommender

FIELDS = {"user", "history", "k", "exclude_history"}
MAX_K = 1000
MAX_BATCH = 10_000


def _serving_modules():
    try:
        return importlib.import_module("fastapi"), importlib.import_module("uvicorn")
    except ImportError as e:
        raise G2RecError(f"serving needs FastAPI and uvicorn ({e}): pip install 'g2rec[serve]'") from None


class BadRequest(Exception):
    """A request that cannot be answered: its HTTP status and one line saying why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def parse_request(body: bytes) -> tuple[list[dict], bool]:
    """The request objects of a ``/recommend`` body (checked field by field) and whether it was a batch."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadRequest(400, f"the body is not JSON ({e})") from None
    batch = isinstance(data, list)
    objects = data if batch else [data]
    if batch and not 1 <= len(objects) <= MAX_BATCH:
        raise BadRequest(400, f"a batch holds 1 to {MAX_BATCH} request objects, got {len(objects)}")
    for n, obj in enumerate(objects):
        where = f"request {n}: " if batch else ""
        if not isinstance(obj, dict):
            raise BadRequest(400, f"{where}expected a JSON object such as {{\"user\": ID}} or {{\"history\": [ITEM, ...]}}")
        unknown = sorted(set(obj) - FIELDS)
        if unknown:
            raise BadRequest(400, f"{where}unknown field {unknown[0]!r} (valid: {', '.join(sorted(FIELDS))})")
        if ("user" in obj) == ("history" in obj):
            raise BadRequest(400, f"{where}give exactly one of \"user\" and \"history\"")
        if "user" in obj and (not isinstance(obj["user"], (str, int)) or isinstance(obj["user"], bool)):
            raise BadRequest(400, f"{where}\"user\" must be a string or an integer")
        history = obj.get("history", [])
        if not isinstance(history, list) or any(not isinstance(i, (str, int)) or isinstance(i, bool) for i in history):
            raise BadRequest(400, f"{where}\"history\" must be a list of item ids (strings or integers)")
        k = obj.get("k", 10)
        if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
            raise BadRequest(400, f"{where}\"k\" must be an integer from 1 to {MAX_K}, got {k!r}")
        if not isinstance(obj.get("exclude_history", False), bool):
            raise BadRequest(400, f"{where}\"exclude_history\" must be true or false")
    return objects, batch


def answer(recommender: Recommender, objects: list[dict]) -> list[dict]:
    """The answers to checked request objects, in order: one model call per kind (user or
    history) and ``exclude_history`` value, at the largest ``k`` asked, each cut to its own ``k``."""
    out: list[dict | None] = [None] * len(objects)
    for kind in ("user", "history"):
        for exclude in (False, True):
            group = [n for n, o in enumerate(objects) if kind in o and o.get("exclude_history", False) == exclude]
            if not group:
                continue
            k = max(objects[n].get("k", 10) for n in group)
            if kind == "user":
                try:
                    results = recommender.users([objects[n]["user"] for n in group], k, "all", exclude)
                except G2RecError as e:
                    raise BadRequest(404, str(e)) from None
            else:
                results = recommender.histories([objects[n]["history"] for n in group], k, exclude)
            for n, r in zip(group, results):
                keep = objects[n].get("k", 10)
                out[n] = {**r, "items": r["items"][:keep], "scores": r["scores"][:keep]}
    return out


def make_app(run_dir: str | Path, model: str | None = None):
    """The FastAPI app serving ``run_dir``'s ``model`` (default the most recent)."""
    fastapi, _ = _serving_modules()
    responses, concurrency = importlib.import_module("fastapi.responses"), importlib.import_module("fastapi.concurrency")
    recommender = Recommender(run_dir, model)
    app = fastapi.FastAPI(title="g2rec", description=f"recommendations of {recommender.model} ({recommender.run.path})")
    health = {"status": "ok", "model": recommender.model, "items": int(recommender.seq.num_items),
              "users": int(recommender.seq.num_users)}

    @app.get("/health")
    def get_health() -> dict:
        return health

    @app.post("/recommend")
    async def post_recommend(request: fastapi.Request):
        try:
            objects, batch = parse_request(await request.body())
            results = await concurrency.run_in_threadpool(answer, recommender, objects)  # the event loop keeps serving
        except BadRequest as e:
            return responses.JSONResponse({"error": str(e)}, status_code=e.status)
        return results if batch else results[0]

    return app


def serve(run_dir: str | Path, model: str | None = None, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``make_app(run_dir, model)`` with uvicorn on ``host:port`` until interrupted."""
    _, uvicorn = _serving_modules()
    app = make_app(run_dir, model)
    uvicorn.run(app, host=host, port=port, log_level="info")
