"""The pure parts of learning: the feedback re-rank formula, importance steps, lesson ranking,
and the offline lesson of an episode."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engramdb.errors import ValidationError
from engramdb.ingest.messages import Message
from engramdb.ingest.prompts.experience import ExperienceReply, LessonOut, to_lessons
from engramdb.learn import feedback as fb
from engramdb.learn.experience import Lesson, summarize
from engramdb.learn.lessons import rank, select
from engramdb.models import Feedback, MemoryRecord, Scope
from engramdb.retrieve.feedback import GENERAL_WEIGHT, NET_CAP, net_judgement
from engramdb.retrieve.search import Hit


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, np.float32)
    return v / np.linalg.norm(v)


def judged(signal: str, vector: np.ndarray | None) -> Feedback:
    return Feedback("f", "m", "t", signal, "2024-01-01", query=None, query_vector=vector)


def test_net_judgement_weighs_by_query_similarity() -> None:
    q = unit(1, 0)
    near = unit(math.cos(0.3), math.sin(0.3))  # cosine ~0.955
    far = unit(0, 1)
    assert net_judgement([judged("not_useful", q)], q, 0.75) == pytest.approx(-1.0)
    w = (float(near @ q) - 0.75) / 0.25
    assert net_judgement([judged("useful", near)], q, 0.75) == pytest.approx(w)
    assert net_judgement([judged("not_useful", far)], q, 0.75) == 0.0
    assert net_judgement([judged("not_useful", None)], q, 0.75) == -GENERAL_WEIGHT
    assert net_judgement([judged("wrong", q)], q, 0.75) == 0.0
    assert net_judgement([judged("not_useful", q)] * 10, q, 0.75) == -NET_CAP
    # Without a query vector (keyword-only search) only general judgements count.
    assert net_judgement([judged("useful", q), judged("useful", None)], None, 0.75) == (
        GENERAL_WEIGHT
    )


def test_importance_steps_stay_in_range() -> None:
    value = 0.5
    for _ in range(100):
        value = fb.new_importance(value, "useful")
    assert 0.99 < value <= 1.0
    for _ in range(200):
        value = fb.new_importance(value, "not_useful")
    assert 0.0 <= value < 0.01
    assert fb.new_importance(0.3, "wrong") == 0.3


def test_check_rejects_bad_signals_and_texts() -> None:
    assert fb.check("useful", " why ", None) == ("useful", "why", None)
    with pytest.raises(ValidationError, match="signal must be one of"):
        fb.check("USEFUL", None, None)
    with pytest.raises(ValidationError, match="query must be"):
        fb.check("useful", None, "   ")


def record(meta: dict[str, object], importance: float = 0.5) -> MemoryRecord:
    return MemoryRecord("i", "t", Scope(agent_id="a"), meta, "", "", importance=importance)


def test_lesson_rank_prefers_failures_and_importance() -> None:
    fail = Hit(record({"failures": 2}), 1.0, 0.6)
    win = Hit(record({"successes": 2}), 1.0, 0.6)
    mixed = Hit(record({"failures": 1, "successes": 1}), 1.0, 0.6)
    assert rank(fail) > rank(mixed) > rank(win)
    assert rank(Hit(record({}, importance=0.9), 1.0, 0.6)) > rank(Hit(record({}), 1.0, 0.6))
    assert [x["evidence"]["failures"] for x in select([win, fail], 5, 0.3)] == [2, 0]
    assert select([Hit(record({}), 1.0, 0.2)], 5, 0.3) == []


def test_offline_lesson_of_an_episode() -> None:
    run = [
        Message("user", "Deploy billing to staging\nfrom the release branch"),
        Message("assistant", "Running deploy.sh"),
        Message("tool", "building...\n[10:01:02] ERROR: DB_URL is not set\ncleanup done"),
    ]
    [lesson] = summarize(run, "failure")
    assert lesson.task == "Deploy billing to staging"
    assert lesson.conditions == "from the release branch"
    assert lesson.tried == "Running deploy.sh"
    assert lesson.cause == "DB_URL is not set"
    assert lesson.text().startswith(
        "Deploy billing to staging failed (conditions: from the release"
    )
    [ok] = summarize(
        [*run[:2], Message("tool", "Deployed 3 pods")], "success", {"conditions": ["a", "b"]}
    )
    assert ok.cause == "" and ok.result == "Deployed 3 pods" and ok.conditions == "a; b"
    assert "succeeded" in ok.text()
    [nothing] = summarize([Message("assistant", "hm")], "partial")
    assert nothing.task == "(task not stated)" and "partly succeeded" in nothing.text()


def test_cause_key_ignores_noise() -> None:
    a = Lesson("t", "failure", cause="port 8080 in use (pid 12)")
    b = Lesson("t", "failure", cause="Port 3000 in use (pid 99)!")
    assert a.cause_key() == b.cause_key() == "port in use pid"


def test_llm_reply_to_lessons() -> None:
    reply = ExperienceReply(
        task="  deploy  ",
        lessons=[LessonOut(), LessonOut(cause="x", next_time="y")] + [LessonOut(tried="t")] * 9,
    )
    lessons = to_lessons(reply, "success")
    assert len(lessons) == 4  # empty one dropped, at most five read
    assert lessons[0].task == "deploy" and lessons[0].cause == "" and lessons[0].advice == "y"
