"""The sheet's graph (layer 1): which column reads which, in what order, under what condition.

A `SheetGraph` is an immutable value built anew on each edit from the rules, the data's
schema and each column's state; it has no threads, no I/O and no backend. Everything it
derives (dependencies, order, cycles, implied conditions, exactness, parsed formulas and
conditions) is computed once per graph, and a formula's text is parsed once per version
of its inputs through the `Parses` memo the next graph inherits.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from fastsheet.data.errors import RuleError
from fastsheet.formula.parser import Formula, names, parse_formula
from fastsheet.formula.shortcircuit import any_of, both, needed_where
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule


@dataclass(frozen=True)
class Node:
    """One rule column as the graph sees it: its rule and the state that shapes the graph."""

    rule: Rule
    broken: bool = False  # in an error state (its readers cannot use it)
    dtype: pl.DataType = pl.Null  # the type of its values, as a formula reads them
    implied: str = ""  # the condition it was started with (what readers needed then)

    @functools.cached_property
    def judged(self) -> bool:
        return kind_of(self.rule).judged

    @functools.cached_property
    def references(self) -> tuple[str, ...]:
        return tuple(self.rule.references())

    @functools.cached_property
    def dependencies(self) -> tuple[str, ...]:
        """Its references and its own condition's (what it needs first)."""
        return tuple(dict.fromkeys([*self.references, *names(self.rule.where)]))

    @property
    def where(self) -> str:
        """The rows it is judged on: its own condition and the implied one."""
        return both(self.rule.where, self.implied)


class Parses:
    """Formulas parsed so far, by text and the types of what they may read (one parse per
    version of a rule and its inputs); failures are remembered too."""

    def __init__(self) -> None:
        self._memo: dict[tuple[str, tuple], Formula | RuleError] = {}
        self._names: dict[str, list[str]] = {}
        self.count = 0  # parses actually done

    def names(self, text: str) -> list[str]:
        """The columns a formula's text names (formula.names, read once per text)."""
        found = self._names.get(text)
        if found is None:
            found = self._names[text] = names(text)
        return found

    def parse(self, text: str, types: Mapping[str, pl.DataType]) -> Formula:
        key = (text, tuple((n, types[n]) for n in self.names(text) if n in types))
        found = self._memo.get(key)
        if found is None:
            self.count += 1
            try:
                found = parse_formula(text, types)
            except RuleError as exc:
                found = exc
            if len(self._memo) > 4096:
                self._memo.clear()
                self._names.clear()
            self._memo[key] = found
        if isinstance(found, RuleError):
            raise found
        return found


class SheetGraph:
    """Dependencies, order, cycles, implied conditions and parses over one sheet's rules."""

    def __init__(
        self,
        schema: Mapping[str, pl.DataType],
        nodes: Mapping[str, Node],
        parses: Parses | None = None,
    ) -> None:
        self.schema = dict(schema)
        self.nodes = dict(nodes)
        self.parses = parses or Parses()
        self._implied: dict[str, str] = {}
        self._deps: dict[str, tuple[str, ...]] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.nodes

    # ----- dependencies and order ---------------------------------------------------------

    def deps(self, name: str) -> tuple[str, ...]:
        """The columns `name` needs first: its references, condition and implied condition."""
        if name not in self._deps:
            node = self.nodes.get(name)
            wanted = [*node.dependencies, *self.parses.names(node.implied)] if node else []
            self._deps[name] = tuple(r for r in dict.fromkeys(wanted) if r in self.nodes)
        return self._deps[name]

    @functools.cached_property
    def order(self) -> tuple[str, ...]:
        """Column names, dependencies first."""
        done: list[str] = []

        def visit(name: str, seen: frozenset[str]) -> None:
            if name in done or name in seen:
                return
            for dep in self.deps(name):
                visit(dep, seen | {name})
            done.append(name)

        for name in self.nodes:
            visit(name, frozenset())
        return tuple(done)

    def dependents(self, name: str) -> list[str]:
        """The columns reading `name`, in order."""
        return [n for n in self.order if name in self.deps(n)]

    def cycle_from(self, start: str) -> list[str] | None:
        """A path from `start` back to itself, if its dependencies loop."""

        def visit(name: str, path: list[str]) -> list[str] | None:
            for dep in self.deps(name):
                if dep == start:
                    return [*path, dep]
                if dep not in path:
                    found = visit(dep, [*path, dep])
                    if found:
                        return found
            return None

        return visit(start, [start])

    # ----- exactness and the short-circuit --------------------------------------------------

    def exact(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """A data column, or a formula column over exact columns (no model anywhere)."""
        node = self.nodes.get(name)
        if node is None:
            return name in self.schema
        if node.judged or node.broken or name in seen:
            return False
        return all(self.exact(d, seen | {name}) for d in node.dependencies)

    @functools.cached_property
    def exact_names(self) -> frozenset[str]:
        """Every exact column: the data's, and formula columns over exact columns."""
        return frozenset(self.schema) | {n for n in self.nodes if self.exact(n)}

    def implied(self, name: str) -> str:
        """Where the formulas reading rule `name` need it ("" for every row; shortcircuit)."""
        if name not in self._implied:
            self._implied[name] = self._find_implied(name)
        return self._implied[name]

    def _find_implied(self, name: str) -> str:
        node = self.nodes.get(name)
        if node is None or not node.judged:
            return ""
        conditions = []
        for reader_name, reader in self.nodes.items():
            if reader_name == name or name not in reader.dependencies:
                continue
            if reader.judged or name in self.parses.names(reader.rule.where):
                if reader.broken:
                    continue
                return ""  # a rule's record or a condition reads it on every row
            condition = needed_where(reader.rule.text, name, self.exact_names.__contains__)
            if reader.broken:  # a formula waiting for this rule, or being typed: its exact
                if condition is None or not self._readable(condition, name):  # part counts
                    continue
            elif condition is None:
                return ""
            conditions.append(condition)
        return any_of(conditions) if conditions else ""

    def implied_changed(self, name: str) -> bool:
        """A judged column whose implied condition is not the one it started with."""
        node = self.nodes.get(name)
        return node is not None and node.judged and self.implied(name) != node.implied

    def waiting_on(self, name: str) -> list[str]:
        """Columns in error that name `name` (they may run now that it exists)."""
        return [n for n, node in self.nodes.items() if node.broken and name in node.dependencies]

    def _readable(self, condition: str, name: str) -> bool:
        try:
            self.parses.parse(condition, self.types(name)).require_condition()
        except RuleError:
            return False
        return True

    # ----- formulas and conditions ----------------------------------------------------------

    def types(self, name: str) -> dict[str, pl.DataType]:
        """What a formula of column `name` may read: the data, and every other column."""
        types = dict(self.schema)
        types.update((n, node.dtype) for n, node in self.nodes.items() if n != name)
        return types

    def formula(self, name: str) -> Formula:
        """A formula column's expression over the data and the columns it reads."""
        formula = self.parses.parse(self.nodes[name].rule.text, self.types(name))
        if name in formula.references:
            raise RuleError(f"Formula {name!r} names itself.")
        return formula

    def condition(self, name: str) -> Formula:
        """A rule's condition (`only where …`, and the implied one), true or false."""
        try:
            return self.parses.parse(self.nodes[name].where, self.types(name)).require_condition()
        except RuleError as exc:
            raise RuleError(f"The condition of {name!r}: {exc}") from None

    def check(self, name: str) -> None:
        """RuleError saying what is wrong with column `name` in this sheet, if anything."""
        node = self.nodes[name]
        rule = node.rule
        known = set(self.schema) | set(self.nodes)
        if node.judged and any(r not in known for r in node.references):
            rule.check_columns(list(self.schema) + [n for n in self.nodes if n != name])
        if name in self.schema:
            raise RuleError(f"A data column is already called {name!r}: pick another name.")
        if rule.gold and rule.gold not in self.schema:
            raise RuleError(
                f"Rule {name!r} takes its labels from {rule.gold!r}, which is not a column."
            )
        if rule.gold and rule.gold in node.references:
            raise RuleError(
                f"Rule {name!r} names its own labels column {{{rule.gold}}}: the model "
                "must never see the answers. Remove the reference or pick other labels."
            )
        cycle = self.cycle_from(name)
        if cycle:
            raise RuleError(
                f"Rule {name!r} depends on itself: {' → '.join(cycle)}. "
                "Remove one of these references."
            )
        if not node.judged:
            self.formula(name)  # its types must fit: `years >= "five"` fails here
        if rule.where:
            self.condition(name)


def rebuilt(
    schema: Mapping[str, pl.DataType], nodes: Mapping[str, Node], previous: SheetGraph | None
) -> SheetGraph:
    """A graph of `nodes` that keeps the previous graph's parses (a node that did not
    change is the same value, and keeps what it derived)."""
    return SheetGraph(schema, nodes, previous.parses if previous is not None else None)
