"""An inference server as the model, behind the same Backend interface as the local file.

Rows go out as concurrent requests (bounded by the settings' concurrency) over one
pooled client. Each request carries the rule's chat turns with the row in the last one,
so every request starts with the same prefix, byte for byte, and the server's prefix
cache does the rest. Flag, label and score answers are read from the first answer
token's `top_logprobs`, through a trie over the candidates' text (the server's token ids
are not known here); free text is plain greedy generation. A server without chat
completions is asked through /v1/completions with the plain (no chat template) prompt.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fastsheet.backends.base import answer_from_probs
from fastsheet.backends.framing import RECORD, Framing, fence
from fastsheet.backends.http_backend import HttpBackend
from fastsheet.backends.models import framing_for
from fastsheet.backends.prompts import build_prompt, messages, rule_exchange
from fastsheet.backends.server import SYSTEM_ONE, ServerError, ServerSettings, list_models
from fastsheet.data.cells import Answer
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule

log = logging.getLogger(__name__)

TOP_LOGPROBS = 20
#: rows longer than this are cut (the local backend cuts at 384 tokens; ~4 chars a token)
MAX_RECORD_CHARS = 1536
TRUNCATED = " …[truncated]"
#: follow a branch of the candidate trie with another request above this probability
BRANCH_MIN_P = 0.01


@dataclass(frozen=True)
class Step:
    """One generated position: the token chosen and the top alternatives' logprobs.
    A step with no alternatives marks where the model stopped (end of its answer)."""

    chosen: str
    top: dict[str, float]


class ServerBackend(HttpBackend):
    """Judges rows on an OpenAI-compatible server. Its identity is the server's model id:
    answers from a server and from a local file never share cache entries."""

    def __init__(self, settings: ServerSettings, framing: Framing | None = None) -> None:
        super().__init__(settings)
        offered = list_models(settings)
        if settings.model and offered and settings.model not in offered:
            raise ServerError(
                f"The server at {settings.host} does not serve {settings.model!r}; "
                f"it serves: {', '.join(offered)}."
            )
        if not settings.model and not offered:
            raise ServerError(f"The server at {settings.host} lists no models.", fatal=True)
        self.offered = offered
        self.name = settings.model or offered[0]
        self.identity = "server:" + self.name
        self.framing = framing or framing_for(Path(self.name))
        self.chat = True  # falls back to /v1/completions if the server has no chat
        log.info("using server %s, model %s, %s framing", self.host, self.name, self.framing.value)

    # ----- judging -----------------------------------------------------------------------

    async def _answer(self, rule: Rule, record: str) -> Answer:
        record = truncate(record)
        if kind_of(rule).stores_text:
            _, text = await self._complete(rule, record, "", rule.max_tokens, logprobs=False)
            return Answer(value=text.strip(), p=None)
        candidates = rule.candidates()
        depth = 4 if shares_prefix(candidates) else 1
        scores = [0.0] * len(candidates)

        async def steps_after(lead: str) -> list[Step]:
            steps, _ = await self._complete(rule, record, lead, depth, logprobs=True)
            return steps

        first = await steps_after("")
        await read_trie(candidates, first, "", "", 1.0, scores, steps_after, self.chat)
        total = sum(scores)
        probs = [s / total for s in scores] if total > 0 else [1 / len(scores)] * len(scores)
        return answer_from_probs(rule, probs)

    async def _complete(
        self, rule: Rule, record: str, lead: str, max_tokens: int, logprobs: bool
    ) -> tuple[list[Step], str]:
        """Generate greedily after the row's prompt (and `lead`, completions only)."""
        body: dict = {"model": self.name, "max_tokens": max_tokens, "temperature": 0}
        if self.chat and not lead:
            body["messages"] = chat_messages(rule, self.framing, record)
            if logprobs:
                body |= {"logprobs": True, "top_logprobs": TOP_LOGPROBS}
            try:
                data = await self._conn.post("/chat/completions", body)
                self.responses += 1
                return chat_steps(data, logprobs, self.host), chat_text(data)
            except ServerError as exc:
                if exc.fatal or exc.status not in (404, 405, 501):  # not "no chat here"
                    raise
                log.info("server %s: no chat completions (%s); using completions", self.host, exc)
                self.chat = False
                body.pop("messages"), body.pop("logprobs", None), body.pop("top_logprobs", None)
        prompt = build_prompt(rule, None, self.framing)
        body["prompt"] = prompt.for_record(record) + lead
        if logprobs:
            body["logprobs"] = TOP_LOGPROBS
        data = await self._conn.post("/completions", body)
        self.responses += 1
        return completion_steps(data, logprobs, self.host), completion_text(data)


def connect(settings: ServerSettings) -> HttpBackend:
    """The backend for the server `settings` names, by the protocol it speaks."""
    if settings.protocol == SYSTEM_ONE:
        from fastsheet.backends.systemone_backend import SystemOneBackend

        return SystemOneBackend(settings)
    return ServerBackend(settings)


# ----- prompts ---------------------------------------------------------------------------


def truncate(record: str) -> str:
    return record if len(record) <= MAX_RECORD_CHARS else record[:MAX_RECORD_CHARS] + TRUNCATED


def chat_messages(rule: Rule, framing: Framing, record: str) -> list[dict[str, str]]:
    """The rule's chat (system, examples) with the row in the last user turn: the same
    turns the local backend renders through the model's template."""
    shown = fence(record) if rule_exchange(rule, framing).fenced else record
    turns = messages(rule, framing)
    last = turns[-1]
    return [*turns[:-1], {"role": last["role"], "content": last["content"].replace(RECORD, shown)}]


# ----- reading answers ---------------------------------------------------------------------


def chat_steps(data: dict, logprobs: bool, host: str) -> list[Step]:
    if not logprobs:
        return []
    try:
        content = data["choices"][0]["logprobs"]["content"]
        steps = [
            Step(c["token"], {t["token"]: float(t["logprob"]) for t in c["top_logprobs"]})
            for c in content
        ]
    except (KeyError, IndexError, TypeError):
        steps = []
    return _require_steps(steps, host) + _stop(data)


def completion_steps(data: dict, logprobs: bool, host: str) -> list[Step]:
    if not logprobs:
        return []
    try:
        lp = data["choices"][0]["logprobs"]
        steps = [
            Step(token, {k: float(v) for k, v in top.items()})
            for token, top in zip(lp["tokens"], lp["top_logprobs"], strict=False)
            if top
        ]
    except (KeyError, IndexError, TypeError, AttributeError):
        steps = []
    return _require_steps(steps, host) + _stop(data)


def _stop(data: dict) -> list[Step]:
    """[the end marker] when the model itself ended its answer (not the token limit)."""
    try:
        stopped = data["choices"][0].get("finish_reason") == "stop"
    except (KeyError, IndexError, TypeError, AttributeError):
        stopped = False
    return [Step("", {})] if stopped else []


def _require_steps(steps: list[Step], host: str) -> list[Step]:
    if not steps:
        raise ServerError(
            f"The server at {host} returned no token probabilities (top_logprobs), which "
            "flag, label and score columns are read from. llama.cpp's llama-server, vLLM "
            "and Ollama 0.12 or later return them; a text column works on any server.",
            fatal=True,
        )
    return steps


def chat_text(data: dict) -> str:
    try:
        return str(data["choices"][0]["message"].get("content") or "")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def completion_text(data: dict) -> str:
    try:
        return str(data["choices"][0].get("text") or "")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def shares_prefix(candidates: Sequence[str]) -> bool:
    """Whether two candidates start alike (their first token may be shared)."""
    lows = [c.lower() for c in candidates]
    return any(a != b and b.startswith(a[:1]) for a in lows for b in lows)


async def read_trie(
    candidates: Sequence[str],
    steps: list[Step],
    text: str,
    raw: str,
    acc: float,
    scores: list[float],
    steps_after,
    greedy_only: bool,
) -> None:
    """Add each candidate's probability to `scores`, from the distribution at `steps[0]`
    after the answer `text` so far (`raw`: as generated; probability `acc`).

    A token that begins exactly one candidate gives it its mass; a token shared by several
    is followed down: along the greedy path from the same response, else (completions)
    with another request after it, else (chat, off the greedy path) its mass is split
    evenly. A candidate that ends here gets the mass of everything that does not go on,
    as in the local backend's token trie (after the end marker: all of it)."""
    lows = [c.lower() for c in candidates]
    step = steps[0]
    going_on = 0.0
    for token, logprob in step.top.items():
        piece = token if text else token.lstrip()
        full = (text + piece).lower()
        matches = [i for i, c in enumerate(lows) if piece and c.startswith(full)]
        if not matches:
            continue
        p = acc * math.exp(logprob)
        going_on += p
        if len(matches) == 1:
            scores[matches[0]] += p
        elif token == step.chosen and len(steps) > 1:
            deeper = steps[1:]
            await read_trie(
                candidates, deeper, text + piece, raw + token, p, scores, steps_after, greedy_only
            )
        elif not greedy_only and p >= BRANCH_MIN_P:
            more = await steps_after(raw + token)
            await read_trie(
                candidates, more, text + piece, raw + token, p, scores, steps_after, greedy_only
            )
        else:
            for i in matches:
                scores[i] += p / len(matches)
    if text and text.lower() in lows:
        scores[lows.index(text.lower())] += max(0.0, acc - going_on)
