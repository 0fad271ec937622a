"""The sheet's graph: a pure value over the rules (no threads, no I/O, no backend)."""

from __future__ import annotations

import asyncio
from collections import Counter

import polars as pl
import pytest

import fastsheet.sheet.graph as graph_module
from fastsheet.data.errors import RuleError
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.engine import Evaluator
from fastsheet.sheet.graph import Node, Parses, SheetGraph, rebuilt
from tests.sheet.test_engine_logic import RecordingBackend

SCHEMA = {"text": pl.String, "years": pl.Int64, "label": pl.Boolean}


def graph(*nodes: Node, parses: Parses | None = None) -> SheetGraph:
    return SheetGraph(SCHEMA, {n.rule.name: n for n in nodes}, parses)


def flag(name: str, text: str, where: str = "", **kw) -> Node:
    return Node(Rule(text, name=name, where=where), dtype=pl.Boolean, **kw)


def formula(name: str, text: str, dtype: pl.DataType = pl.Boolean, **kw) -> Node:
    return Node(Rule(text, name=name, kind=Kind.FORMULA), dtype=dtype, **kw)


def test_dependencies_order_and_dependents():
    g = graph(
        formula("shortlist", "senior and led"),
        flag("led", "Has {text} led a team?"),
        formula("senior", "years >= 5"),
    )
    assert g.deps("shortlist") == ("senior", "led")
    assert g.deps("led") == ()  # `text` is data, not a column of the graph
    order = g.order
    assert order.index("led") < order.index("shortlist")
    assert order.index("senior") < order.index("shortlist")
    assert g.dependents("senior") == ["shortlist"]
    assert g.cycle_from("shortlist") is None


def test_a_cycle_is_found_and_checked():
    g = graph(formula("a", "b > 1", pl.Int64), formula("b", "a + 1", pl.Int64))
    assert g.cycle_from("a") == ["a", "b", "a"]
    with pytest.raises(RuleError, match="depends on itself: a → b → a"):
        g.check("a")


def test_exactness_and_the_implied_condition():
    g = graph(
        formula("senior", "years >= 5"),
        flag("led", "Has {text} led a team?"),
        formula("shortlist", "senior and led"),
    )
    assert g.exact("years") and g.exact("senior")
    assert not g.exact("led") and not g.exact("shortlist")
    assert g.implied("led") == "senior"  # judged only where the exact part holds
    assert g.implied_changed("led")  # the node was started with no condition
    started = graph(
        *[Node(n.rule, n.broken, n.dtype, g.implied(name)) for name, n in g.nodes.items()]
    )
    assert not started.implied_changed("led")
    assert started.deps("led") == ("senior",)  # its implied condition reads senior
    assert started.nodes["led"].where == "senior"


def test_a_rule_read_by_another_rule_is_needed_on_every_row():
    g = graph(
        formula("senior", "years >= 5"),
        flag("led", "Has {text} led a team?"),
        formula("shortlist", "senior and led"),
        flag("summary", "Given {led}, is {text} a leader?"),
    )
    assert g.implied("led") == ""


def test_a_broken_reader_counts_only_for_its_readable_exact_part():
    g = graph(
        formula("senior", "years >= 5"),
        flag("led", "Has {text} led a team?"),
        formula("shortlist", "senior and led and", broken=True),  # being typed
    )
    assert g.implied("led") == ""
    assert g.waiting_on("led") == ["shortlist"]


def test_check_names_what_is_wrong():
    with pytest.raises(RuleError, match="Unknown column"):
        graph(flag("x", "Is {nope} ok?")).check("x")
    with pytest.raises(RuleError, match="already called 'text'"):
        graph(formula("text", "years > 1")).check("text")
    with pytest.raises(RuleError, match="never see the answers"):
        graph(Node(Rule("Is {label} ok?", name="x", gold="label"))).check("x")
    with pytest.raises(RuleError, match="depends on itself: f → f"):
        graph(formula("f", "f and true")).check("f")
    with pytest.raises(RuleError, match="condition of 'x'"):
        graph(flag("x", "Is {text} ok?", where="years + 1")).check("x")
    graph(flag("x", "Is {text} ok?", where="years > 1")).check("x")  # fine


def test_each_formula_is_parsed_once_per_version_of_its_inputs():
    parses = Parses()
    nodes = [formula("senior", "years >= 5"), flag("led", "Has {text} led?")]
    g = graph(*nodes, formula("shortlist", "senior and led"), parses=parses)
    for _ in range(3):
        g.check("shortlist")
        g.formula("shortlist")
        g.implied("led")
    assert parses.count == 1
    again = rebuilt(SCHEMA, g.nodes, g)  # the next edit's graph keeps the parses
    again.check("shortlist")
    assert again.parses.count == 1
    assert again.nodes["shortlist"] is g.nodes["shortlist"]  # unchanged nodes are kept
    typed = rebuilt(SCHEMA, {**g.nodes, "senior": formula("senior", "years >= 5", pl.Null)}, g)
    typed.formula("shortlist")  # an input's type changed: a new version, parsed again
    assert typed.parses.count == 2


def test_a_rule_edit_parses_each_formula_and_condition_once(monkeypatch):
    """Through the engine: one edit, with the short-circuit, dependents and conditions."""
    calls: list[str] = []
    real = graph_module.parse_formula

    def counting(text, columns):
        calls.append(text)
        return real(text, columns)

    monkeypatch.setattr(graph_module, "parse_formula", counting)
    frame = pl.DataFrame({"text": [f"row {i}" for i in range(40)], "years": list(range(40))})

    async def main():
        ev = Evaluator(frame, RecordingBackend())
        ev.set_rule(Rule("years >= 10", name="senior", kind=Kind.FORMULA))
        await ev.wait_idle(30)
        ev.set_rule(Rule("Has {text} led a team?", name="led", where="years < 30"))
        ev.set_rule(Rule("senior and led", name="shortlist", kind=Kind.FORMULA))
        await ev.wait_idle(30)
        assert ev.columns["led"].where == "years < 30 and senior"
        counts = Counter(calls)
        assert set(counts) >= {"years >= 10", "senior and led", "years < 30 and senior"}
        assert set(counts.values()) == {1}, counts  # each formula and condition once
        before = ev.columns["shortlist"].generation
        ev.set_rule(Rule("Has {text} led a big team?", name="led", where="years < 30"))
        await ev.wait_idle(30)
        assert ev.columns["shortlist"].generation > before  # restarted after its input
        assert Counter(calls) == counts  # and nothing parsed again: same versions
        ev.close()

    asyncio.run(asyncio.wait_for(main(), 60))
