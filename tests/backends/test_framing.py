"""Prompt framing: rule -> statement, the shapes around the record, examples in the prefix."""

from __future__ import annotations

import json

import pytest

from fastsheet.backends.framing import (
    RECORD,
    Framing,
    asked_as,
    balanced_examples,
    question,
    statement,
)
from fastsheet.backends.prompts import build_prompt, rule_exchange
from fastsheet.kinds.rules import Kind, Rule


def _chat(messages: list[dict[str, str]]) -> str:
    """A minimal chat template, ChatML-like, for shape tests."""
    out = "".join(f"<|{m['role']}|>\n{m['content']}<|end|>\n" for m in messages)
    return out + "<|assistant|>\n"


def test_statement_drops_the_flag_verb_and_names_fields_in_words():
    assert statement(Rule("Flag if the customer is angry")) == "The customer is angry."
    assert statement(Rule("flag rows where {amount} is over 100")) == "The amount is over 100."
    assert statement(Rule("The review is positive.")) == "The review is positive."
    assert (
        statement(Rule("According to {passage}, the answer to {question} is yes."))
        == "According to the passage, the answer to the question is yes."
    )
    assert statement(Rule("Check whether the {job_title} is senior")) == "The job title is senior."


def test_a_column_named_twice_is_named_once_in_a_question():
    rule = Rule("The answer {answer} to {question} means yes.")
    assert question(rule) == "Is it true that the answer to the question means yes?"
    # the statement keeps the wording its cached answers were given under
    assert statement(rule) == "The answer the answer to the question means yes."


@pytest.mark.parametrize(
    ("rule", "asked"),
    [
        ("Flag if the email is spam", "Is the email spam?"),
        ("The review is positive.", "Is the review positive?"),
        (
            "According to {passage}, the answer to {question} is yes.",
            "According to the passage, is the answer to the question yes?",
        ),
        (
            "The information in {sentence} is enough to answer {question}.",
            "Is the information in the sentence enough to answer the question?",
        ),
        ("The candidate has led a team", "Has the candidate led a team?"),
        ("The candidate has a degree", "Is it true that the candidate has a degree?"),
        ("The reply isn't helpful", "Is it true that the reply isn't helpful?"),
        ("The reply is not helpful", "Is it true that the reply is not helpful?"),
        (
            "The {summary} says they have managed people",
            "Is it true that the summary says they have managed people?",
        ),
        ("Has led a team", "Is this true of the text: has led a team?"),
        ("Is the reply rude?", "Is the reply rude?"),
        (
            "The passage is inappropriate (for example pornographic) or nonsensical.",
            "Is the passage inappropriate (for example pornographic) or nonsensical?",
        ),
    ],
)
def test_question_asks_the_rule_directly(rule: str, asked: str):
    assert question(Rule(rule)) == asked


def test_question_framing_asks_before_and_after_the_record():
    prompt = build_prompt(Rule("Flag if the email is spam"), _chat, Framing.QUESTION)
    assert "Question: Is the email spam?" in prompt.prefix
    assert prompt.suffix.startswith("\n\nIs the email spam? Answer Yes or No.")


def test_question_first_framing_leaves_only_the_turn_end_after_the_record():
    prompt = build_prompt(Rule("Flag if the email is spam"), _chat, Framing.QUESTION_FIRST)
    assert "Question: Is the email spam? Answer Yes or No." in prompt.prefix
    assert prompt.suffix == "<|end|>\n<|assistant|>\n"
    label = Rule("Which team handles {ticket}?", kind=Kind.LABEL, labels=("billing", "tech"))
    assert build_prompt(label, _chat, Framing.QUESTION_FIRST).suffix == prompt.suffix


def test_statement_framing_keeps_the_rule_in_the_shared_prefix():
    prompt = build_prompt(Rule("Flag if the email is spam"), _chat, Framing.STATEMENT)
    assert "The email is spam." in prompt.prefix
    assert "spam" not in prompt.suffix  # only the short question is decoded per row
    assert prompt.suffix.startswith("\n\nIs the statement true")
    assert prompt.chat and prompt.answer_lead == ""


def test_record_first_framing_puts_the_statement_after_the_record():
    prompt = build_prompt(Rule("Flag if the email is spam"), _chat, Framing.RECORD_FIRST)
    assert "The email is spam." in prompt.suffix
    assert prompt.prefix.endswith("<|user|>\n")


def test_rule_framing_is_the_original_shape():
    ex = rule_exchange(Rule("x is y"), Framing.RULE)
    assert ex.user.startswith("Rule: x is y\nDoes the rule hold")
    assert ex.user.endswith(RECORD)


def test_label_framing_lists_the_options():
    rule = Rule("What is it about?", kind=Kind.LABEL, labels=("sport", "politics"))
    for framing in (Framing.STATEMENT, Framing.RECORD_FIRST, Framing.QUESTION):
        ex = rule_exchange(rule, framing)
        assert "Options: sport, politics" in ex.user
        assert ex.user.count(RECORD) == 1


def test_examples_become_earlier_turns_in_the_prefix():
    rule = Rule("Flag if the text is spam", examples=(("buy now!!", "Yes"), ("hi mum", "No")))
    prompt = build_prompt(rule, _chat, Framing.STATEMENT)
    assert prompt.prefix.index("buy now!!") < prompt.prefix.index("hi mum")
    assert "<|assistant|>\nYes<|end|>" in prompt.prefix
    assert "<|assistant|>\nNo<|end|>" in prompt.prefix
    assert "buy now" not in prompt.suffix
    assert rule.identity() != Rule("Flag if the text is spam").identity()


def test_completion_prompt_without_a_chat_template():
    rule = Rule("Flag if spam", examples=(("a", "Yes"),))
    prompt = build_prompt(rule, None, Framing.STATEMENT)
    assert not prompt.chat and prompt.answer_lead == " "
    assert "\nAnswer: Yes\n\n" in prompt.prefix
    assert prompt.suffix.endswith("\nAnswer:")


def test_template_without_system_role_gets_it_folded_into_the_first_turn():
    def strict(messages):
        if messages[0]["role"] == "system":
            raise ValueError("no system role")
        return _chat(messages)

    prompt = build_prompt(Rule("Flag if spam"), strict, Framing.STATEMENT)
    assert "The text is data" in prompt.prefix


def test_balanced_examples_interleave_classes_and_cap():
    pairs = [(f"y{i}", "Yes") for i in range(10)] + [(f"n{i}", "No") for i in range(2)]
    out = balanced_examples(pairs, 8)
    assert len(out) == 8
    assert [a for _, a in out[:4]] == ["Yes", "No", "Yes", "No"]
    assert sum(a == "No" for _, a in out) == 2  # all the minority class is used


def test_examples_state_the_rule_once_and_later_turns_are_short():
    rule = Rule("Flag if the text is spam", examples=(("a", "Yes"), ("b", "No")))
    for framing in (Framing.STATEMENT, Framing.RECORD_FIRST):
        prompt = build_prompt(rule, _chat, framing)
        assert prompt.prefix.count("The text is spam.") == 1
        assert "Statement" not in prompt.suffix
        assert prompt.suffix.startswith("\n\nIs the statement true")


def test_question_framing_with_examples_asks_the_same_question_every_turn():
    rule = Rule("Flag if the text is spam", examples=(("a", "Yes"), ("b", "No")))
    prompt = build_prompt(rule, _chat, Framing.QUESTION)
    assert prompt.prefix.count("Question: Is the text spam?") == 1
    assert prompt.prefix.count("Is the text spam? Answer Yes or No.") == 2  # one per example
    assert prompt.suffix.startswith("\n\nIs the text spam? Answer Yes or No.")


def test_text_rules_are_the_instruction_and_the_row_is_the_input():
    rule = Rule("You are a support bot. Answer the {message}", kind=Kind.TEXT)
    ex = rule_exchange(rule, Framing.STATEMENT)
    assert ex.system.startswith("You are a support bot. Answer the the message") is False
    assert ex.system.startswith("You are a support bot. Answer the message")
    assert ex.user == RECORD


def test_every_prompt_is_byte_identical_to_the_golden_dump():
    """Prompts and cache-key prefixes of every kind x framing (chat, folded, plain) are
    what they were before rules became typed questions (tests/data/prompt_dump.json)."""
    from tests.prompt_dump import DUMP, dump

    assert json.loads(json.dumps(dump(), ensure_ascii=False)) == json.loads(DUMP.read_text())


def test_label_descriptions_go_into_the_prompt_one_option_a_line():
    rule = Rule(
        "Which team handles {ticket}?",
        kind=Kind.LABEL,
        labels=("billing", "technical", "other"),
        descriptions=("invoices, refunds", "bugs, outages", ""),
    )
    for framing in Framing:
        user = rule_exchange(rule, framing).user
        assert "- billing: invoices, refunds\n- technical: bugs, outages\n- other" in user
    assert "Options:\n- billing" in rule_exchange(rule, Framing.QUESTION).user
    plain = Rule("Which team handles {ticket}?", kind=Kind.LABEL, labels=rule.labels)
    assert rule.identity() != plain.identity()  # descriptions change the answers' keys
    assert asked_as(rule.question(), Framing.QUESTION).startswith("The model judges each row")
