"""The inference-server backend against a real llama_cpp.server on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bench.server import start_llama_server, stop_llama_server
from fastsheet.backends.base import Interrupted
from fastsheet.backends.server import ServerError, ServerSettings, api_base
from fastsheet.backends.server_backend import ServerBackend
from fastsheet.cli import main
from fastsheet.data.errors import ModelError
from fastsheet.data.table import record_columns, records
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import ColumnEvent, Evaluator, Update
from fastsheet.sheet.runner import RuleRunner
from tests.conftest import ROOT
from tests.helpers import judged_until_stale

POSITIVE = Rule("The review is positive.")


def dev_reviews(n: int) -> tuple[pl.DataFrame, list[str]]:
    frame = pl.read_csv(ROOT / "bench" / "data" / "reviews.csv").head(n).select("review")
    return frame, records(frame, record_columns(frame.columns, [], []), range(n))


@pytest.fixture(scope="module")
def server(llama_server: str):
    backend = ServerBackend(ServerSettings(llama_server, concurrency=4))
    yield backend
    backend.close()


def test_server_answers_agree_with_the_in_process_model(server, default_backend):
    _, texts = dev_reviews(100)
    remote = server.judge(POSITIVE, texts)
    local = default_backend.judge(POSITIVE, texts)
    p_remote = np.array([a.p for a in remote])
    p_local = np.array([a.p for a in local])
    agree = np.mean((p_remote >= 0.5) == (p_local >= 0.5))
    close = np.mean(np.abs(p_remote - p_local) <= 0.05)
    assert agree >= 0.95, agree
    assert close >= 0.95, (close, np.abs(p_remote - p_local).max())
    assert server.identity != default_backend.identity
    assert server.identity.startswith("server:")
    assert server.framing == default_backend.framing  # catalogued by the served file's name


def test_label_and_text_answers_come_from_the_server(server, default_backend):
    _, texts = dev_reviews(12)
    labels = Rule("Which aspect does the review mainly talk about?", kind=Kind.LABEL,
                  labels=("food", "service", "price", "place"))  # fmt: skip
    remote = np.array([a.probs for a in server.judge(labels, texts)])
    local = np.array([a.probs for a in default_backend.judge(labels, texts)])
    assert np.mean(remote.argmax(1) == local.argmax(1)) >= 0.9
    assert np.allclose(remote.sum(1), 1.0)
    summary = Rule("Name the dish in two words, or say none.", kind=Kind.TEXT, max_tokens=6)
    said = [a.value for a in server.judge(summary, texts[:4])]
    assert all(isinstance(s, str) and s for s in said)
    local_said = [a.value for a in default_backend.judge(summary, texts[:4])]
    assert sum(a == b for a, b in zip(said, local_said, strict=True)) >= 3


def test_a_cache_never_mixes_server_and_local_answers(server, default_backend, tmp_path: Path):
    frame, _ = dev_reviews(6)
    cache = ResultCache(tmp_path / "results.sqlite")
    rows = list(range(6))
    local = RuleRunner(frame, POSITIVE, default_backend, cache)
    remote = RuleRunner(frame, POSITIVE, server, cache)
    local_answers = local.compute(rows)
    assert remote.cached(rows) == ([], [])  # the local answers are not the server's
    before = server.responses
    remote_answers = remote.compute(rows)
    assert server.responses - before == 6  # every row went to the server
    assert local.cached(rows)[1] == local_answers  # each keeps its own
    assert remote.cached(rows)[1] == remote_answers
    cache.close()


def test_a_stale_batch_is_dropped_in_flight(llama_server: str):
    backend = ServerBackend(ServerSettings(llama_server, concurrency=2))
    _, texts = dev_reviews(40)
    assert isinstance(judged_until_stale(backend, POSITIVE, texts, 2), Interrupted)
    assert backend.responses < len(texts)  # the rest were never waited for
    assert backend.interrupted == 1
    assert len(backend.judge(POSITIVE, texts[:2])) == 2  # the backend is still usable
    backend.close()


def test_an_edit_drops_the_old_rules_requests(llama_server: str):
    frame, _ = dev_reviews(60)
    backend = ServerBackend(ServerSettings(llama_server, concurrency=2))

    async def main_() -> None:
        ev = Evaluator(frame, backend)
        events: list = []
        ev.subscribe(events.append)
        old = ev.set_rule(Rule("The review is negative."))
        while not any(isinstance(e, Update) and e.source == "model" for e in events):
            await asyncio.sleep(0.05)
        new = ev.set_rule(POSITIVE)
        switched = len(events)
        ev.cancel("rule")  # stop the new rule too: only the drop is under test
        await ev.wait_idle()
        await asyncio.sleep(0.5)
        late = [e for e in events[switched:] if getattr(e, "generation", None) == old]
        assert not late, late
        assert new > old
        ev.close()

    asyncio.run(asyncio.wait_for(main_(), 300))
    assert backend.interrupted >= 1  # the old rule's batch in flight was dropped
    backend.close()


def test_a_killed_server_gives_one_clear_error_and_keeps_earlier_answers(
    model_path: Path, tmp_path: Path
):
    proc, url = start_llama_server(model_path)
    frame, _ = dev_reviews(40)
    backend = ServerBackend(ServerSettings(url, concurrency=2, retries=2))
    cache = ResultCache(tmp_path / "results.sqlite")
    try:

        async def main_() -> Evaluator:
            ev = Evaluator(frame, backend, cache)
            events: list = []
            ev.subscribe(events.append)
            ev.set_rule(POSITIVE)
            while (
                sum(c.state.value == "done" for c in map(lambda r: ev.cell("rule", r), range(40)))
                < 4
            ):
                await asyncio.sleep(0.05)
            proc.kill()
            proc.wait()
            await ev.wait_idle()
            errors = [e for e in events if isinstance(e, ColumnEvent) and e.kind == "error"]
            assert len(errors) == 1, errors
            assert url.removeprefix("http://") in errors[0].message
            assert "could not be reached" in errors[0].message
            assert "switch back to the local model" in errors[0].message
            return ev

        ev = asyncio.run(asyncio.wait_for(main_(), 300))
        cells = [ev.cell("rule", r) for r in range(40)]
        done = [r for r, c in enumerate(cells) if c.state.value == "done"]
        failed = [c for c in cells if c.state.value == "error"]
        assert len(done) >= 4 and len(done) + len(failed) == 40
        assert all(c.value is not None for c in (cells[r] for r in done))
        assert {c.error for c in failed} == {ev.columns["rule"].error}
        runner = RuleRunner(frame, POSITIVE, backend, cache)
        hits, _ = runner.cached(list(range(40)))
        assert set(done) <= set(hits)  # every answer received is in the cache file
        ev.close()
    finally:
        backend.close()
        cache.close()
        if proc.poll() is None:
            stop_llama_server(proc)


def test_an_unreachable_or_wrong_server_says_what_to_do():
    with pytest.raises(ServerError, match="could not be reached"):
        ServerBackend(ServerSettings("http://127.0.0.1:9"))
    with pytest.raises(ModelError, match="not a server address"):
        api_base("ftp://example")
    assert api_base("localhost:11434") == "http://localhost:11434/v1"
    assert api_base("http://gpu:8000/v1/") == "http://gpu:8000/v1"


def test_a_server_that_does_not_serve_the_model_lists_what_it_does(llama_server: str):
    with pytest.raises(ServerError, match=r"does not serve 'gpt-9'; it serves: .*qwen2\.5"):
        ServerBackend(ServerSettings(llama_server, model="gpt-9"))


def test_eval_on_a_server_from_the_command_line(llama_server: str, tmp_path: Path, capsys):
    frame, _ = dev_reviews(4)
    data = tmp_path / "reviews.csv"
    frame.write_csv(data)
    out = tmp_path / "out.csv"
    code = main(["eval", str(data), "--rule", POSITIVE.text, "--server", llama_server,
                 "--concurrency", "2", "--out", str(out), "--no-cache"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = pl.read_csv(out)
    assert result["rule_source"].to_list() == ["model"] * 4
    assert "judging on the server at 127.0.0.1:" in capsys.readouterr().err
    both = main(["eval", str(data), "--rule", "x", "--server", llama_server, "--model", "m"])
    assert both == 2
    assert "Give one of --model" in capsys.readouterr().err
