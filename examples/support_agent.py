"""A support agent with per-customer memory on an engramdb server, one API key per tenant.

    python examples/support_agent.py [--home DIR]

Starts the REST server in a background thread (as ``engramdb serve`` would in production),
creates one API key for each of two companies using the same support product, and lets their
agents remember customers through :class:`engramdb.Client`. Each customer is a ``user_id``;
each company is a tenant, and a key never sees another tenant's memories. Offline.
"""

from __future__ import annotations

import argparse
import tempfile

import httpx

from engramdb import Client, Memory
from engramdb.server import ServerSettings, ServerThread, create_app

ADMIN_KEY = "example-admin-key"


def new_key(url: str, tenant: str) -> str:
    """Ask the server for an API key of ``tenant`` (an admin call)."""
    r = httpx.post(
        f"{url}/v1/keys",
        json={"tenant": tenant},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    r.raise_for_status()
    return str(r.json()["key"])


def support_turn(client: Client, customer: str, ticket: str) -> None:
    """What an agent does per ticket: recall the customer, answer, remember what is new."""
    known = client.search(ticket, user_id=customer, limit=3)["results"]
    print(f"  [{customer}] ticket: {ticket}")
    for hit in known:
        print(f"  [{customer}] recalled: {hit['memory']}")
    if not known:
        print(f"  [{customer}] recalled: nothing yet")
    client.add(ticket, user_id=customer, agent_id="support-bot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="data directory (default: a temporary one)")
    args = parser.parse_args()
    if args.home:
        run(args.home)
    else:
        with tempfile.TemporaryDirectory(prefix="engramdb-support-") as home:
            run(home)


def run(home: str) -> None:
    """The whole example, with its store in ``home``."""
    memory = Memory(path=home)
    app = create_app(memory, ServerSettings(admin_key=ADMIN_KEY, rate_limit=0))
    with ServerThread(app) as server:
        print(f"server on {server.url}")
        acme = Client(server.url, api_key=new_key(server.url, "acme"))
        globex = Client(server.url, api_key=new_key(server.url, "globex"))

        print("acme support")
        support_turn(acme, "cust-42", "I'm on the Pro plan and my invoices go to billing@ex.com")
        support_turn(acme, "cust-42", "I prefer email over phone calls.")
        support_turn(acme, "cust-42", "Which plan am I on, and can you email me the invoice?")

        print("globex support")
        support_turn(globex, "cust-42", "Which plan am I on?")  # same user id, other tenant

        acme_count = len(acme.get_all(user_id="cust-42")["results"])
        globex_count = len(globex.get_all(user_id="cust-42")["results"])
        print(f"acme memories of cust-42: {acme_count}")
        print(f"globex memories of cust-42: {globex_count}")
        acme.close()
        globex.close()
    memory.close()


if __name__ == "__main__":
    main()
