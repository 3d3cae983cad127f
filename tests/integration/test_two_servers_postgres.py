"""Two ``engramdb serve`` processes on one Postgres serve the same tenants consistently."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from tests.support.serve import engramdb_serve

from engramdb.store.postgres.devserver import fresh_schema

ADMIN = "admin-two-servers"


def test_two_servers_share_tenants_and_memories(tmp_path: Path) -> None:
    config = tmp_path / "pg.json"
    config.write_text(
        json.dumps({"store": {"provider": "postgres", "dsn": fresh_schema(f"two-{tmp_path}")}})
    )
    # Two homes, as on two hosts: only the database is shared, API keys included.
    env = {"ENGRAMDB_ADMIN_KEY": ADMIN, "ENGRAMDB_RATE_LIMIT": "0"}
    args = ("--config", str(config))
    with (
        engramdb_serve(tmp_path / "host-a", env=env, args=args) as a,
        engramdb_serve(tmp_path / "host-b", env=env, args=args) as b,
    ):
        admin = {"Authorization": f"Bearer {ADMIN}"}
        acme = httpx.post(f"{a}/v1/keys", json={"tenant": "acme"}, headers=admin).json()["key"]
        other = httpx.post(f"{b}/v1/keys", json={"tenant": "globex"}, headers=admin).json()["key"]
        h_acme = {"Authorization": f"Bearer {acme}"}
        h_other = {"Authorization": f"Bearer {other}"}
        # A key made through one server is listed and accepted by the other.
        for url in (a, b):
            listed = httpx.get(f"{url}/v1/keys", headers=admin).json()["results"]
            assert sorted(k["tenant"] for k in listed) == ["acme", "globex"]

        ids = []
        for i, url in enumerate((a, b, a, b)):
            body = {"messages": f"acme fact number {i}", "user_id": "ops", "infer": False}
            r = httpx.post(f"{url}/v1/memories", json=body, headers=h_acme, timeout=30)
            assert r.status_code == 200, r.text
            ids.append(r.json()["results"][0]["id"])

        for url in (a, b):
            listed = httpx.get(f"{url}/v1/memories", params={"user_id": "ops"}, headers=h_acme)
            assert sorted(m["id"] for m in listed.json()["results"]) == sorted(ids)
            hits = httpx.post(
                f"{url}/v1/search",
                json={"query": "acme fact number 3", "user_id": "ops"},
                headers=h_acme,
                timeout=30,
            ).json()["results"]
            assert hits[0]["id"] == ids[3]
            # The other tenant sees none of it, on either server.
            assert httpx.get(f"{url}/v1/memories/{ids[0]}", headers=h_other).status_code == 404

        # A change made through one server is what the other serves next.
        upd = httpx.put(f"{a}/v1/memories/{ids[1]}", json={"text": "changed via A"}, headers=h_acme)
        assert upd.status_code == 200, upd.text
        got = httpx.get(f"{b}/v1/memories/{ids[1]}", headers=h_acme).json()
        assert got["memory"] == "changed via A"
        assert httpx.delete(f"{b}/v1/memories/{ids[2]}", headers=h_acme).status_code == 200
        assert httpx.get(f"{a}/v1/memories/{ids[2]}", headers=h_acme).status_code == 404
