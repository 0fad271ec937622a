"""The System One backend against laya-serve, a real third-party Jev server, on loopback.

Its weight-free backend answers uniformly (noul 0.5, the first option, the middle level),
so these tests assert what a correct client does with answers, never the values."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest

from bench.server import start_laya_serve, stop_llama_server
from fastsheet.backends.base import Interrupted
from fastsheet.backends.server import SYSTEM_ONE, ServerError, ServerSettings
from fastsheet.backends.server_backend import connect
from fastsheet.backends.systemone_backend import SystemOneBackend
from fastsheet.cli import main
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import ColumnEvent, Evaluator
from fastsheet.sheet.runner import RuleRunner
from tests.helpers import judged_until_stale

FLAG = Rule("Flag if the {review} is a complaint", name="complaint")
LABEL = Rule(
    "What does the {review} talk about?",
    name="topic",
    kind=Kind.LABEL,
    labels=("food", "service", "other"),
    descriptions=("dishes, taste", "staff, waiting", ""),
)
SCORE = Rule("How enthusiastic is the {review}?", name="zeal", kind=Kind.SCORE, scale=(1, 5))


def frame_of(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"review": [f"Review {i}: the soup was cold." for i in range(n)], "stars": list(range(n))}
    )


class Spy:
    """Records each request body on its way to the real server."""

    def __init__(self, backend: SystemOneBackend) -> None:
        self.bodies: list[dict] = []
        post = backend._conn.post

        async def recorded(path: str, body: dict) -> dict:
            self.bodies.append(body)
            return await post(path, body)

        backend._conn.post = recorded  # type: ignore[method-assign]


def backend_for(url: str, **kw: object) -> SystemOneBackend:
    backend = connect(ServerSettings(url, protocol=SYSTEM_ONE, **kw))  # type: ignore[arg-type]
    assert isinstance(backend, SystemOneBackend)
    return backend


def test_each_kind_is_sent_as_its_typed_question(laya_serve: str):
    backend = backend_for(laya_serve)
    spy = Spy(backend)
    record = "review: The soup was cold."
    for rule in (FLAG, LABEL, SCORE):
        answer = backend.judge(rule, [record])[0]
        assert answer.probs is not None and abs(sum(answer.probs) - 1) < 1e-9
        assert len(answer.probs) == len(rule.candidates())
    flag, label, score = (body["questions"] for body in spy.bodies)
    assert all(b["state"] == {"review": "The soup was cold."} for b in spy.bodies)
    assert all(b["model"] == "jev-latest" for b in spy.bodies)
    assert flag == {"complaint": {"type": "noul", "instructions": FLAG.text}}
    assert label["topic"]["type"] == "choice"
    assert label["topic"]["criteria"] == {
        "food": "dishes, taste",
        "service": "staff, waiting",
        "other": None,
    }
    assert score["zeal"]["type"] == "score" and len(score["zeal"]["criteria"]) == 5
    # the answers are read the way each kind reads them: p(yes), the chosen label, a mean
    flag_answer, label_answer, score_answer = (
        backend.judge(r, ["review: other"])[0] for r in (FLAG, LABEL, SCORE)
    )
    assert flag_answer.p == pytest.approx(flag_answer.probs[0])
    assert label_answer.value in LABEL.labels
    assert 1 <= score_answer.value <= 5  # the expected level on the rule's own scale
    assert backend.identity == f"systemone:{backend.host}:jev-latest"
    backend.close()


def test_a_rule_naming_no_column_sends_the_record_text(laya_serve: str):
    backend = backend_for(laya_serve)
    spy = Spy(backend)
    backend.judge(Rule("The review is positive."), ["review: Great food.\nstars: 5"])
    assert spy.bodies[0]["state"] == "review: Great food.\nstars: 5"
    text = Rule("Summarise it", kind=Kind.TEXT)
    with pytest.raises(ServerError, match="free text"):
        backend.judge(text, ["review: x"])
    backend.close()


def test_three_rule_columns_cost_one_request_per_row(laya_serve: str):
    frame = frame_of(24)
    backend = backend_for(laya_serve, concurrency=4)
    spy = Spy(backend)

    async def main_() -> Evaluator:
        ev = Evaluator(frame, backend)
        for rule in (FLAG, LABEL, SCORE):
            ev.set_rule(rule)
        await ev.wait_idle()
        return ev

    ev = asyncio.run(asyncio.wait_for(main_(), 120))
    for rule in (FLAG, LABEL, SCORE):
        assert all(ev.cell(rule.name, r).state.value == "done" for r in range(24))
    rows = [b for b in spy.bodies if b["state"]["review"].startswith("Review")]
    probes = len(spy.bodies) - len(rows)  # content-free records ("", "N/A", …), not rows
    assert len({b["state"]["review"] for b in rows}) == len(rows) == 24  # one request a row
    assert probes <= 6 and backend.requests == 24 + probes
    asked = [set(body["questions"]) for body in rows]
    assert sum(q == {"complaint", "topic", "zeal"} for q in asked) >= 22  # all three asked
    ev.close()
    backend.close()


def test_a_stale_batch_is_dropped_in_flight(laya_serve: str):
    backend = backend_for(laya_serve, concurrency=1)
    texts = [f"review: row {i}" for i in range(3000)]
    assert isinstance(judged_until_stale(backend, FLAG, texts, 3, timeout=10), Interrupted)
    after = backend.responses
    assert after < len(texts)  # the rest were never sent or waited for
    assert backend.interrupted == 1
    assert len(backend.judge(FLAG, texts[:2])) == 2  # still usable
    assert backend.responses == after + 2
    backend.close()


def test_a_validation_error_names_its_field_once_per_column(laya_serve: str):
    backend = backend_for(laya_serve, model="no-such-model")
    with pytest.raises(ServerError, match=r"HTTP 422.*\(field: model\)") as raised:
        backend.check()
    assert raised.value.fatal

    async def main_() -> list[ColumnEvent]:
        ev = Evaluator(frame_of(30), backend)
        events: list = []
        ev.subscribe(events.append)
        ev.set_rule(FLAG)
        await ev.wait_idle()
        ev.close()
        return [e for e in events if isinstance(e, ColumnEvent) and e.kind == "error"]

    errors = asyncio.run(asyncio.wait_for(main_(), 60))
    assert len(errors) == 1 and "field: model" in errors[0].message
    backend.close()


def test_a_killed_server_gives_one_error_and_keeps_the_answers(tmp_path: Path):
    proc, url = start_laya_serve()
    n = 4000
    frame = frame_of(n)
    backend = backend_for(url, concurrency=2, retries=1)
    cache = ResultCache(tmp_path / "results.sqlite")
    try:

        async def main_() -> Evaluator:
            ev = Evaluator(frame, backend, cache)
            events: list = []
            ev.subscribe(events.append)
            ev.set_rule(FLAG)
            while sum(ev.cell(FLAG.name, r).state.value == "done" for r in range(64)) < 8:
                await asyncio.sleep(0.01)
            proc.kill()
            proc.wait()
            await ev.wait_idle()
            errors = [e for e in events if isinstance(e, ColumnEvent) and e.kind == "error"]
            assert len(errors) == 1, errors
            assert "could not be reached" in errors[0].message
            return ev

        ev = asyncio.run(asyncio.wait_for(main_(), 120))
        cells = [ev.cell(FLAG.name, r) for r in range(n)]
        done = [r for r, c in enumerate(cells) if c.state.value == "done"]
        assert 8 <= len(done) < n
        assert all(c.state.value in ("done", "error") for c in cells)
        runner = RuleRunner(frame, FLAG, backend, cache)
        hits, _ = runner.cached(list(range(n)))
        assert set(done) <= set(hits)  # every answer received is in the cache file
        ev.close()
    finally:
        backend.close()
        cache.close()
        if proc.poll() is None:
            stop_llama_server(proc)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("flag", []),
        ("label", ["--labels", "food=dishes, taste; service=staff, waiting; other"]),
        ("score", ["--scale", "1-5"]),
    ],
)
def test_the_cli_writes_the_same_columns_as_a_local_run(
    laya_serve: str, tmp_path: Path, kind: str, extra: list[str], model_path: Path
):
    data = tmp_path / "reviews.csv"
    frame_of(3).write_csv(data)
    rule = ["--rule", "Is the {review} about food?", "--kind", kind, *extra, "--no-cache"]
    remote, local = tmp_path / "remote.csv", tmp_path / "local.csv"
    assert main(["eval", str(data), *rule, "--systemone", laya_serve, "--out", str(remote)]) == 0
    assert main(["eval", str(data), *rule, "--model", str(model_path), "--out", str(local)]) == 0
    remote_frame, local_frame = pl.read_csv(remote), pl.read_csv(local)
    assert remote_frame.columns == local_frame.columns
    assert remote_frame.schema == local_frame.schema
    assert remote_frame["rule_source"].to_list() == ["model"] * 3
