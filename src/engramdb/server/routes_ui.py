"""The dashboard: static files at ``/ui`` and the few read-only JSON routes it needs.

The page itself is public (it holds no data); everything it shows comes from the ``/v1`` API
with the API key the user typed in, so the dashboard sees exactly what that key may see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from starlette.staticfiles import StaticFiles

from engramdb.server import models as m
from engramdb.server.auth import Caller, ReadMemory, context

UI_DIR = Path(__file__).parent / "ui"

pages = APIRouter(include_in_schema=False)
v1 = APIRouter(prefix="/v1", responses=m.ERRORS, tags=["dashboard"])


class ScopeOut(BaseModel):
    """One user, agent or run of the caller's tenant."""

    kind: str
    id: str
    memories: int
    last_activity: str | None = None


class ScopeList(BaseModel):
    """Every user, agent and run, most recently active first within each kind."""

    results: list[ScopeOut]


class StatsOut(BaseModel):
    """Counts for the caller's tenant, and this server process's LLM usage."""

    model_config = ConfigDict(extra="allow")
    memories: int
    by_status: dict[str, int]
    users: int
    agents: int
    history_rows: int
    usage: dict[str, int]


class EpisodeList(BaseModel):
    """Raw messages kept for a scope, newest first."""

    results: list[dict[str, Any]]


@pages.get("/ui")
@pages.get("/ui/")
def index() -> FileResponse:
    """The single-page dashboard."""
    return FileResponse(UI_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@v1.get("/scopes", response_model=ScopeList)
def list_scopes(memory: ReadMemory) -> dict[str, Any]:
    """The tenant's users, agents and runs with active-memory counts and last activity."""
    return {"results": memory.scopes()}


@v1.get("/stats", response_model=StatsOut)
def stats(memory: ReadMemory) -> dict[str, Any]:
    """Memory, user, agent and history counts of the tenant; LLM calls and tokens so far."""
    out = memory.stats()
    out.pop("path", None)  # where the server keeps its files is not the caller's business
    return out


@v1.get("/episodes", response_model=EpisodeList)
def list_episodes(
    memory: ReadMemory,
    user_id: Annotated[str | None, Query(description="user_id scope")] = None,
    agent_id: Annotated[str | None, Query(description="agent_id scope")] = None,
    run_id: Annotated[str | None, Query(description="run_id scope")] = None,
    ids: Annotated[str | None, Query(description="comma-separated episode ids to keep")] = None,
    limit: Annotated[int, Query(description="1-10000")] = 100,
) -> dict[str, Any]:
    """The raw messages a scope's memories were extracted from, newest first."""
    found = memory.episodes(user_id=user_id, agent_id=agent_id, run_id=run_id, limit=limit)
    if ids:
        wanted = {i.strip() for i in ids.split(",") if i.strip()}
        found = [e for e in found if e.get("id") in wanted]
    return {"results": found}


class MetricsPoint(BaseModel):
    """One bucket of the tenant's API traffic."""

    at: str
    add: int
    search: int
    read: int
    change: int
    error: int
    llm_calls: int
    tokens: int
    add_ms: float | None = None
    search_ms: float | None = None


class MetricsOut(BaseModel):
    """The tenant's requests, mean latencies and LLM use per bucket, oldest first."""

    bucket: str
    since: str
    series: list[MetricsPoint]


@v1.get("/metrics", response_model=MetricsOut)
def metrics(
    request: Request,
    principal: Caller,
    since: Annotated[str | None, Query(description="ISO-8601 start (default 24 h ago)")] = None,
    bucket: Annotated[str, Query(description="minute, hour or day")] = "hour",
) -> dict[str, Any]:
    """Adds, searches, reads, changes, errors, mean latency (ms) and LLM calls/tokens over
    time for the caller's tenant, counted by every server on this store."""
    return context(request).meter.series(principal.tenant, since=since, bucket=bucket)


def install(app: FastAPI) -> None:
    """Add the dashboard page, its static files and its JSON routes to ``app``."""
    app.include_router(pages)
    app.include_router(v1)
    app.mount("/ui/static", StaticFiles(directory=UI_DIR), name="ui-static")
