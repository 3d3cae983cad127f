"""The task world of bench/learning.py: 36 tasks, each with preconditions that fail it with a
known cause, and the scripted agent's generic repair skills.

A task runs its preconditions in order and stops at the first one the attempt did not take
care of, printing that precondition's error (with run-specific noise: a clock, a pid). The
agent never sees the preconditions: it only knows how to turn an error it has been told about
(a lesson's cause) into a precaution, with :data:`SKILLS` — the way an engineer who read
"environment variable X is not set" knows to set X.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """A precondition: the precaution that satisfies it and the error shown when it is missing."""

    precaution: str
    error: str


@dataclass(frozen=True)
class Task:
    """A task: two phrasings (the second is used on later rounds) and its preconditions."""

    name: str
    paraphrase: str
    causes: tuple[Cause, ...]

    def attempt(self, precautions: set[str], rng: random.Random) -> tuple[bool, str]:
        """(succeeded, tool output): the first unmet precondition fails the attempt."""
        for cause in self.causes:
            if cause.precaution not in precautions:
                stamp = (
                    f"[{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}]"
                )
                return False, f"{stamp} ERROR: {cause.error} (pid {rng.randint(1000, 99999)})"
        return True, "OK: completed without errors"


def env(var: str) -> Cause:
    return Cause(f"set env {var}", f"environment variable {var} is not set")


def port(n: int) -> Cause:
    return Cause("choose a free port", f"port {n} is already in use")


def module(name: str) -> Cause:
    return Cause(f"install {name}", f"module '{name}' not found")


def perm(path: str) -> Cause:
    return Cause(f"fix permissions on {path}", f"permission denied: {path}")


def version(tool: str, v: str) -> Cause:
    return Cause(f"pin {tool} {v}", f"{tool} requires version {v}")


TIMEOUT = Cause("raise the timeout", "request timed out after 30s")
RATE = Cause("add backoff between calls", "rate limit exceeded (429 Too Many Requests)")
DISK = Cause("free disk space", "no space left on device")
TOKEN = Cause("refresh the auth token", "auth token has expired")
MIGRATE = Cause("run pending migrations", "database has pending migrations")
LOCK = Cause("remove the stale lock file", "lock file exists from a previous run")
CERT = Cause("renew the TLS certificate", "TLS certificate has expired")

TASKS: list[Task] = [
    Task(
        "Deploy the billing service to staging",
        "Ship billing to the staging cluster",
        (env("BILLING_DB_URL"),),
    ),
    Task(
        "Deploy the billing service to production",
        "Roll out billing in prod",
        (env("BILLING_PROD_DB_URL"), MIGRATE),
    ),
    Task(
        "Deploy the search API to staging",
        "Push the search API onto staging",
        (env("SEARCH_INDEX_URL"), port(8080)),
    ),
    Task(
        "Start the local dev server for the web app",
        "Run the web app dev server locally",
        (port(3000),),
    ),
    Task(
        "Run the nightly ETL job for sales data",
        "Execute the nightly sales ETL pipeline",
        (DISK, TIMEOUT),
    ),
    Task(
        "Backfill the analytics warehouse for last month",
        "Reload last month into analytics",
        (TIMEOUT, env("WAREHOUSE_DSN")),
    ),
    Task(
        "Train the churn prediction model",
        "Fit the churn model on fresh data",
        (module("xgboost"), DISK),
    ),
    Task(
        "Generate the monthly invoice PDFs",
        "Render this month's invoices as PDF",
        (module("weasyprint"), perm("/var/invoices")),
    ),
    Task(
        "Sync the CRM contacts to the mailing list",
        "Push CRM contacts into the mailer",
        (RATE, TOKEN),
    ),
    Task(
        "Import the product catalogue from the supplier feed",
        "Load the supplier's catalogue",
        (TIMEOUT,),
    ),
    Task(
        "Rotate the logs on the web servers",
        "Do log rotation on the web hosts",
        (perm("/var/log/nginx"),),
    ),
    Task(
        "Renew the wildcard certificate for the API gateway",
        "Refresh the gateway TLS cert",
        (LOCK,),
    ),
    Task(
        "Run the database migrations for the orders service",
        "Migrate the orders database",
        (LOCK, env("ORDERS_DB_URL")),
    ),
    Task(
        "Build the Android release bundle",
        "Produce the Android release build",
        (version("gradle", "8.5"), DISK),
    ),
    Task(
        "Build the iOS app for TestFlight",
        "Make a TestFlight build of the iOS app",
        (CERT, version("xcode", "15.2")),
    ),
    Task(
        "Publish the Python package to the index",
        "Upload the Python package release",
        (TOKEN, module("twine")),
    ),
    Task("Scrape competitor prices", "Collect prices from competitor sites", (RATE,)),
    Task("Send the weekly newsletter", "Mail out this week's newsletter", (RATE, TOKEN)),
    Task(
        "Restore the staging database from backup",
        "Load last night's backup into staging",
        (DISK, perm("/srv/backups")),
    ),
    Task("Rebuild the search index", "Reindex everything for search", (TIMEOUT, DISK)),
    Task(
        "Run the end-to-end browser tests",
        "Execute the e2e browser test suite",
        (module("playwright"), port(4444)),
    ),
    Task(
        "Upgrade the Kubernetes cluster nodes",
        "Roll the k8s node upgrade",
        (version("kubectl", "1.29"), TOKEN),
    ),
    Task(
        "Archive old customer tickets",
        "Move old support tickets to the archive",
        (perm("/data/archive"), TIMEOUT),
    ),
    Task(
        "Compute the quarterly revenue report",
        "Produce the revenue numbers for the quarter",
        (env("FINANCE_API_KEY"),),
    ),
    Task(
        "Resize the product images for the storefront",
        "Make storefront-sized product images",
        (module("pillow"), DISK),
    ),
    Task(
        "Transcribe the support call recordings",
        "Turn support calls into transcripts",
        (module("whisper"), TIMEOUT),
    ),
    Task(
        "Fine-tune the support chatbot model",
        "Train the support bot on new tickets",
        (DISK, env("HF_TOKEN")),
    ),
    Task(
        "Export user data for a GDPR request",
        "Produce a GDPR data export for a user",
        (perm("/exports/gdpr"),),
    ),
    Task("Refresh the exchange rate cache", "Update cached currency rates", (RATE, TIMEOUT)),
    Task(
        "Run the load test against the checkout service",
        "Load-test checkout",
        (port(8089), env("CHECKOUT_URL")),
    ),
    Task(
        "Provision a new tenant database", "Create the database for a new tenant", (MIGRATE, LOCK)
    ),
    Task(
        "Compile the documentation site",
        "Build the docs website",
        (module("mkdocs"), version("node", "20")),
    ),
    Task("Clean up unused cloud volumes", "Delete orphaned cloud disks", (TOKEN,)),
    Task(
        "Reconcile the payment provider payouts",
        "Match payouts from the payment provider",
        (env("PAYMENTS_API_KEY"), RATE),
    ),
    Task(
        "Deploy the notification worker",
        "Roll out the notifications worker",
        (env("QUEUE_URL"), MIGRATE),
    ),
    Task(
        "Update the status page after the incident",
        "Post the incident update on the status page",
        (TOKEN, CERT),
    ),
]

# The agent's generic repair skills: an error message it has been told about -> a precaution.
SKILLS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"environment variable (\w+) is not set"), lambda m: f"set env {m[1]}"),
    (re.compile(r"port \d+ is already in use"), lambda m: "choose a free port"),
    (re.compile(r"module '([\w\-]+)' not found"), lambda m: f"install {m[1]}"),
    (re.compile(r"permission denied: (\S+)"), lambda m: f"fix permissions on {m[1]}"),
    (re.compile(r"(\w+) requires version ([\d.]+)"), lambda m: f"pin {m[1]} {m[2]}"),
    (re.compile(r"timed out"), lambda m: "raise the timeout"),
    (re.compile(r"rate limit"), lambda m: "add backoff between calls"),
    (re.compile(r"no space left"), lambda m: "free disk space"),
    (re.compile(r"auth token has expired"), lambda m: "refresh the auth token"),
    (re.compile(r"pending migrations"), lambda m: "run pending migrations"),
    (re.compile(r"lock file exists"), lambda m: "remove the stale lock file"),
    (re.compile(r"TLS certificate has expired"), lambda m: "renew the TLS certificate"),
]


def precautions_for(cause_text: str) -> set[str]:
    """What the agent would do about an error it was told of (empty when it has no skill)."""
    return {fix(m) for pattern, fix in SKILLS if (m := pattern.search(cause_text))}
