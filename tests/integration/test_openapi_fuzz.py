"""schemathesis against the real server's /openapi.json: generated requests for every
operation, with a tenant key. No answer may be a 500, and every answer must match the schema
(status code documented, body valid against the declared response model).

The "schema-valid request accepted" check is left out: rules that span fields (an add or search
needs one of user_id, agent_id or run_id; filters are a small language) are checked by the
server and answered 422 with a message, which OpenAPI cannot express."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from engramdb import Memory
from engramdb.embed.local import LocalEmbedder
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN = "admin-fuzz"
# POST /v1/import takes JSON Lines as a text body.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def test_generated_requests_get_documented_answers(tmp_path: Path, embedder: LocalEmbedder) -> None:
    memory = Memory(path=tmp_path, embedder=embedder)
    config = ServerSettings(admin_key=ADMIN, rate_limit=0, max_messages=20)
    with ServerThread(create_app(memory, config)) as server:
        r = httpx.post(
            f"{server.url}/v1/keys",
            json={"tenant": "fuzz"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        headers = {"Authorization": f"Bearer {r.json()['key']}"}
        # Something to find, update and delete.
        httpx.post(
            f"{server.url}/v1/memories",
            json={"messages": "I like tea", "user_id": "u", "infer": False},
            headers=headers,
        )
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        failures: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1

            @given(case=operation.as_strategy())
            @settings(
                max_examples=10,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=server.url,
                    headers=headers,
                    timeout=30,
                    excluded_checks=[positive_data_acceptance],
                )

            try:
                run()
            except Exception as exc:
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    memory.close()
    assert operations > 30
    assert not failures, "\n\n".join(failures)
