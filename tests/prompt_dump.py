"""Every prompt the llama backend renders, for every kind x framing: a golden dump.

`python -m tests.prompt_dump` rewrites tests/data/prompt_dump.json; the test compares the
current rendering with it byte for byte (prompts and cache-key prefixes are answers' keys).
"""

from __future__ import annotations

import json
from pathlib import Path

from fastsheet.backends.framing import Framing, asked_as
from fastsheet.backends.prompts import build_prompt, messages
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import rule_key_prefix

DUMP = Path(__file__).parent / "fixtures" / "prompt_dump.json"

RULES: dict[str, Rule] = {
    "flag": Rule("Flag if the email is spam"),
    "flag-refs": Rule("According to {passage}, the answer to {question} is yes.", name="f"),
    "flag-taught": Rule(
        "Flag if the {reply} is rude", examples=(("reply: go away", "Yes"), ("reply: thanks", "No"))
    ),
    "label": Rule("Which team handles {ticket}?", kind=Kind.LABEL, labels=("billing", "tech")),
    "label-taught": Rule(
        "Sentiment of the review",
        kind=Kind.LABEL,
        labels=("pos", "neg", "mixed"),
        examples=(("review: great", "pos"),),
    ),
    "score": Rule("How urgent is {message}?", kind=Kind.SCORE, scale=(1, 5)),
    "score-wide": Rule("Rate the tone", kind=Kind.SCORE, scale=(0, 10)),
    "text": Rule("Summarise {body} in five words", kind=Kind.TEXT, max_tokens=20),
}


def _chat(turns: list[dict[str, str]]) -> str:
    out = "".join(f"<|{m['role']}|>\n{m['content']}<|end|>\n" for m in turns)
    return out + "<|assistant|>\n"


def _no_system(turns: list[dict[str, str]]) -> str:
    if turns[0]["role"] == "system":
        raise ValueError("no system turn")
    return _chat(turns)


def dump() -> dict[str, object]:
    out: dict[str, object] = {}
    for name, rule in RULES.items():
        for framing in Framing:
            entry: dict[str, object] = {"key": rule_key_prefix("m", rule, framing.value).hex()}
            for label, render in (("chat", _chat), ("folded", _no_system), ("plain", None)):
                p = build_prompt(rule, render, framing)
                entry[label] = [p.prefix, p.suffix, p.answer_lead, p.chat, p.fenced]
            entry["messages"] = messages(rule, framing)
            entry["asked"] = asked_as(rule.question(), framing)
            out[f"{name}/{framing.value}"] = entry
    return out


if __name__ == "__main__":
    DUMP.write_text(json.dumps(dump(), indent=1, ensure_ascii=False) + "\n")
