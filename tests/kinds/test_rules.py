import pytest

from fastsheet.data.errors import RuleError
from fastsheet.kinds.label import parse_labels
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.kinds.score import parse_scale


def test_references_are_ordered_and_unique():
    rule = Rule("Flag if {category} is unusual for {customer} buying {category}")
    assert rule.references() == ["category", "customer"]


def test_unknown_column_lists_existing_columns():
    rule = Rule("Flag if {merchant_cat} is odd")
    with pytest.raises(RuleError) as err:
        rule.check_columns(["amount", "merchant", "category"])
    message = str(err.value)
    assert "{merchant_cat}" in message
    assert "amount, merchant, category" in message


def test_empty_label_set_is_an_error():
    with pytest.raises(RuleError, match="at least one label"):
        Rule("What is it?", kind=Kind.LABEL, labels=())
    with pytest.raises(RuleError, match="empty"):
        parse_labels(" , ,")


def test_duplicate_labels_are_an_error():
    with pytest.raises(RuleError, match="distinct"):
        Rule("What is it?", kind=Kind.LABEL, labels=("a", "a"))


def test_scale_parsing_and_validation():
    assert parse_scale("1-5") == (1, 5)
    assert parse_scale(" 0 - 10 ") == (0, 10)
    with pytest.raises(RuleError):
        parse_scale("five")
    with pytest.raises(RuleError, match="Bad scale"):
        Rule("How good?", kind=Kind.SCORE, scale=(5, 1))


def test_candidates_per_kind():
    assert Rule("x").candidates() == ("Yes", "No")
    assert Rule("x", kind=Kind.SCORE, scale=(1, 3)).candidates() == ("1", "2", "3")
    assert Rule("x", kind=Kind.LABEL, labels=("a", "b")).candidates() == ("a", "b")
    assert Rule("x", kind=Kind.TEXT).candidates() == ()


def test_identity_ignores_name_but_not_options():
    a = Rule("x", name="one", kind=Kind.LABEL, labels=("a", "b"))
    assert a.identity() == Rule("x", name="two", kind=Kind.LABEL, labels=("a", "b")).identity()
    assert a.identity() != Rule("x", kind=Kind.LABEL, labels=("a", "c")).identity()
    assert Rule("x").identity() != Rule("x", kind=Kind.SCORE).identity()


def test_an_edited_rule_keeps_its_known_answers_and_learning_within_its_kind():
    from fastsheet.kinds import kind_of

    for rule, options in (
        (Rule("x", name="r", gold="g", learn=True), {}),
        (
            Rule("x", name="r", kind=Kind.LABEL, labels=("a", "b"), gold="g", learn=True),
            {"labels": "a, b"},
        ),
        (Rule("x", name="r", kind=Kind.SCORE, gold="g", learn=True), {"scale": "1-5"}),
    ):
        edited = kind_of(rule.kind).make("y", "r", options, rule)
        assert (edited.text, edited.gold, edited.learn) == ("y", "g", True)
        assert edited.identity() != rule.identity() and "learn" not in edited.identity()
    other = kind_of(Kind.SCORE).make("y", "r", {"scale": "1-5"}, Rule("x", gold="g", learn=True))
    assert (other.gold, other.learn) == (None, False)  # a flag's answers are not a score's


def test_empty_rule_is_an_error():
    with pytest.raises(RuleError, match="empty"):
        Rule("   ")


def test_one_reading_of_yes_for_gold_marks_and_examples():
    import numpy as np

    from fastsheet.kinds.flag import is_yes

    for yes in (True, 1, 1.0, np.bool_(True), "yes", "Yes", " TRUE ", "y", "on-policy"):
        assert is_yes(yes), yes
    for no in (False, 0, 0.0, None, "no", "false", "", "maybe"):
        assert not is_yes(no), no
    rule = Rule("r")
    assert [rule.answer_text(v) for v in (True, "yes", False, "no")] == ["Yes", "Yes", "No", "No"]


def test_labels_with_descriptions_parse_and_print_back():
    from fastsheet.kinds.label import labels_text, parse_label_options

    text = "billing=invoices, refunds; technical=bugs,  outages; other"
    labels, notes = parse_label_options(text)
    assert labels == ("billing", "technical", "other")
    assert notes == ("invoices, refunds", "bugs, outages", "")
    assert labels_text(labels, notes) == "billing=invoices, refunds; technical=bugs, outages; other"
    assert parse_label_options("spam, ham") == (("spam", "ham"), ())
    assert labels_text(("spam", "ham"), ()) == "spam, ham"
    with pytest.raises(RuleError):
        parse_label_options("billing=x; ; =y")


def test_a_label_rule_made_from_options_keeps_its_descriptions():
    from fastsheet.kinds import kind_of

    rule = kind_of("label").make("Which team?", "team", {"labels": "a=first; b"}, None)
    assert rule.labels == ("a", "b") and rule.descriptions == ("first", "")
    assert rule.question().jev()["criteria"] == {"a": "first", "b": None}
    with pytest.raises(RuleError):
        Rule("x", kind=Kind.LABEL, labels=("a", "b"), descriptions=("only one",))
