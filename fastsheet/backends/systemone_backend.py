"""A System One (Jev-compatible) server as the judge: `POST /v1/systemone`.

Each rule's typed question (fastsheet.data.question) is sent as it is, with the row as the
state. The rule columns of a sheet that read the same record (`ask_together`) are asked
in one request per row: a row's answer to every question of the request is kept, and a
column asking later is answered from them without a request of its own. Opt-in only,
like the OpenAI-style server: nothing connects unless the user names the server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import httpx

from fastsheet.backends.base import answer_from_probs
from fastsheet.backends.http_backend import HttpBackend
from fastsheet.backends.prompts import DEFAULT_FRAMING
from fastsheet.backends.server import SYSTEM_ONE_MODEL, ServerError, ServerSettings, headers
from fastsheet.data.cells import Answer
from fastsheet.data.question import Choice, Generate, Noul, Question, Score, state
from fastsheet.kinds.rules import Rule

log = logging.getLogger(__name__)

PATH = "/systemone"
#: answers asked for a column that has not asked yet, kept until it does (least recent out)
KEPT_ANSWERS = 100_000


class SystemOneBackend(HttpBackend):
    """Judges rows on a System One server. Its identity names the host and the model:
    its answers never share cache entries with a local model's or another server's."""

    def __init__(self, settings: ServerSettings) -> None:
        super().__init__(settings)
        self.model = settings.model or SYSTEM_ONE_MODEL
        self.name = f"{self.model} (System One at {self.host})"
        self.identity = f"systemone:{self.host}:{self.model}"
        self.framing = DEFAULT_FRAMING  # a key part only: the server words the question
        self.requests = 0  # POSTs sent (one per row, whatever the number of columns)
        self._together: tuple[tuple[Rule, tuple[str, ...]], ...] = ()
        self._kept: OrderedDict[tuple[str, str], Answer] = OrderedDict()
        #: per rule (name, identity): the sheet it was worked out for, and its _group()
        self._groups: dict[tuple[str, str], tuple[object, _Group]] = {}
        log.info("using System One server %s, model %s", self.host, self.model)

    def check(self) -> Answer:
        """One small request (a yes/no question of a short text): raises ServerError if the
        server is unreachable, refuses the key or does not serve the model."""
        return self.sample(Rule("Is this a greeting?", name="check"), "hello")

    def listed_models(self) -> tuple[str, ...]:
        """The model names the server lists (GET /v1/models), or () if it lists none."""
        try:
            with httpx.Client(timeout=httpx.Timeout(10.0), headers=headers()) as client:
                data = client.get(self.settings.base + "/models").json()
            return tuple(str(m["name"]) for m in data["models"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return ()

    def ask_together(self, rules: Sequence[tuple[Rule, Sequence[str]]]) -> None:
        """The sheet's rule columns and the columns each one's record shows: those that
        read the same record are asked in one request per row."""
        self._together = tuple((rule, tuple(columns)) for rule, columns in rules)
        self._groups = {}  # worked out again for the new sheet (and kept from growing)

    # ----- judging -----------------------------------------------------------------------

    async def _answer(self, rule: Rule, record: str) -> Answer:
        named, columns, group = self._group(rule)
        shown = state(columns, record, named)
        row = _canonical(shown)
        mine = group[0]
        if (mine.key, row) in self._kept:
            return self._kept.pop((mine.key, row))
        asked = [q for q in group if q is mine or (q.key, row) not in self._kept]
        questions = {q.rule.name: q.question for q in asked}
        body = {"state": shown, "model": self.model, "questions": questions}
        self.requests += 1
        try:
            data = await self._conn.post(PATH, body)
        except ServerError as exc:
            if exc.status is None:
                raise
            raise ServerError(  # every row would be refused alike: one message, stop
                f"The System One server at {self.host} refused the question of "
                f"{rule.name!r} — {exc}",
                fatal=True,
                status=exc.status,
            ) from None
        self.responses += 1
        answers = data.get("answers") if isinstance(data, dict) else None
        if not isinstance(answers, dict):
            raise self._malformed("a response without answers")
        for q in asked[1:]:
            got = answers.get(q.rule.name)
            if isinstance(got, Mapping):
                with contextlib.suppress(ServerError):  # its column asks again later
                    self._keep((q.key, row), read(q.rule, got, self.host))
        got = answers.get(rule.name)
        if not isinstance(got, Mapping):
            raise self._malformed(f"no answer to the question {rule.name!r}")
        return read(rule, got, self.host)

    def _group(self, rule: Rule) -> _Group:
        """Whether the rule names its columns, the columns of its record, and the questions
        asked of that record: the rule's first, then the other columns reading the same
        record. Worked out once per rule and sheet, not per row."""
        together = self._together
        ident = (rule.name, rule.identity())
        cached = self._groups.get(ident)
        if cached is not None and cached[0] is together:
            return cached[1]
        named = bool(rule.references())
        columns = tuple(rule.references()) or next(
            (cols for r, cols in together if r.name == rule.name), ()
        )
        group = [_Asked(rule, sendable(rule))]
        for other, cols in together:
            if other.name == rule.name or not columns or cols != columns:
                continue
            if bool(other.references()) == named and (question := sendable(other, quiet=True)):
                group.append(_Asked(other, question))
        self._groups[ident] = (together, (named, columns, group))
        return named, columns, group

    def _keep(self, key: tuple[str, str], answer: Answer) -> None:
        self._kept[key] = answer
        while len(self._kept) > KEPT_ANSWERS:
            self._kept.popitem(last=False)

    def _malformed(self, what: str) -> ServerError:
        return ServerError(
            f"The System One server at {self.host} answered with {what}: it may not speak "
            "the Jev API (POST /v1/systemone).",
            fatal=True,
        )


_Group = tuple[bool, tuple[str, ...], list["_Asked"]]


@dataclass(frozen=True)
class _Asked:
    """A rule column's question as sent, and its canonical text (what kept answers are
    keyed by, with the row's state)."""

    rule: Rule
    question: dict[str, object]
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _canonical(self.question))


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def sendable(rule: Rule, quiet: bool = False) -> dict[str, object] | None:
    """The rule's question as the request carries it (ServerError, or None when `quiet`,
    for a question a System One server cannot answer)."""
    asked: Question | None = rule.question()
    why = ""
    if asked is None or isinstance(asked, Generate):
        why = (
            f"The column {rule.name!r} asks for free text, which a System One server does "
            "not write: use a local model or an OpenAI-style server for text columns."
        )
    else:
        try:
            return asked.jev()
        except ValueError as exc:
            why = f"The column {rule.name!r}: {exc}."
    if quiet:
        return None
    raise ServerError(why, fatal=True)


def read(rule: Rule, answer: Mapping[str, object], host: str) -> Answer:
    """A typed answer as the column's Answer (ServerError when it is not one)."""
    asked = rule.question()
    try:
        if isinstance(asked, Noul):
            p = float(answer["noul"])  # type: ignore[arg-type]
            probs = [p, 1.0 - p]
        elif isinstance(asked, Choice):
            given = answer["probabilities"]
            probs = [float(given[o]) for o in asked.options]  # type: ignore[index]
        elif isinstance(asked, Score):
            given = answer["probabilities"]
            probs = [float(given[str(i)]) for i in range(len(asked.levels))]  # type: ignore[index]
        else:
            raise KeyError("type")
    except (KeyError, TypeError, ValueError):
        raise ServerError(
            f"The System One server at {host} answered the question {rule.name!r} with "
            f"something that is not a {type(asked).__name__.lower()} answer.",
            fatal=True,
        ) from None
    if not all(math.isfinite(p) and 0 <= p <= 1 for p in probs) or sum(probs) <= 0:
        raise ServerError(
            f"The System One server at {host} gave {rule.name!r} probabilities that are not "
            "probabilities.",
            fatal=True,
        )
    total = sum(probs)
    return answer_from_probs(rule, [p / total for p in probs])
