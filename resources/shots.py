"""The screenshots (README.md, docs/) of flows the `fastsheet shot` command cannot drive.

`python resources/shots.py label-next --out resources/label-next.png [--labels 40]` opens
160 emails of the dev suite's spam task (the gold column kept apart, as a user's own
answers), adds "The email is spam.", ticks Learn from labels in the Label next bar,
answers each row Label next asks about from the gold until the rule has `--labels`,
then saves the window with the bar asking its next question.

`python resources/shots.py score --out resources/label-next-score.png [--labels 12]
[--rows 40]` opens the first reviews of the sample, adds the score rule "How enthusiastic
is the review?" (1-5), answers Label next's questions with a reader's scores (a positive
review 4, or 5 with an exclamation mark; a negative one 2, or 1) until the rule has
`--labels`, then saves the window with the bar asking its next question.

`python resources/shots.py why --model qwen2.5-coder-1.5b --out resources/why.png` opens
the support sample, waits
for its replies and verdicts, asks Why? of the first 5 verdicts and saves the window once
their reasons are written.

Offscreen; the models must be set up (`make models`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

import polars as pl
import qasync

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastsheet.kinds.rules import Kind, Rule  # noqa: E402
from ui.app import application, create_window, exit_now, shutdown, start  # noqa: E402

log = logging.getLogger("shots")


def emails(directory: Path, rows: int, chars: int) -> tuple[Path, list[bool]]:
    frame = pl.read_csv(ROOT / "bench" / "data" / "spam_emails.csv")
    spam, ham = frame.filter(pl.col("gold")), frame.filter(~pl.col("gold"))
    frame = pl.concat([spam.head(rows // 3), ham.head(rows - rows // 3)])
    frame = frame.sample(fraction=1.0, shuffle=True, seed=4)
    path = directory / "emails.csv"
    if chars:
        frame = frame.with_columns(pl.col("body").str.slice(0, chars))
    frame.drop("gold").write_csv(path)
    return path, frame["gold"].to_list()


async def answer_label_next(window, session, truth: list, labels: int, learn: bool = False) -> None:
    """Answer each row Label next asks about from `truth` until the rule has `labels`
    (with `learn`, Learn from labels ticked in the bar first), teach it, wait, and leave
    the bar asking its next question."""
    window.label_next()
    if learn:
        window.label_bar.learn.setChecked(True)
        await session.evaluator.wait_idle(600)
    for _ in range(labels):
        row = window._label_row
        if row is None:
            break
        window._label_answered(truth[row])
    window.teach_now()
    await asyncio.sleep(0.5)
    await session.evaluator.wait_idle(600)
    window._ask_next()
    log.info("%s", window.label_bar.progress.text())


async def label_next(window, session, args, tmp: Path) -> None:
    path, gold = emails(tmp, args.rows, args.body_chars)
    await window.open_path(path)
    window.add_rule()
    window.set_rule(Rule("The email is spam.", name=window.selected_rule()))
    window._select(window.selected_rule())
    await session.evaluator.wait_idle(600)
    await answer_label_next(window, session, gold, args.labels, learn=True)


def reader_score(review: str, positive: bool) -> int:
    """A reader's enthusiasm score for a sample review, from its label and its tone."""
    loud = "!" in review
    return (5 if loud else 4) if positive else (1 if loud else 2)


async def score(window, session, args, tmp: Path) -> None:
    frame = pl.read_csv(ROOT / "resources" / "samples" / "reviews_sample.csv").head(args.rows)
    path = tmp / "reviews.csv"
    frame.drop("gold").write_csv(path)
    scores = [reader_score(r, g) for r, g in zip(frame["review"], frame["gold"], strict=True)]
    await window.open_path(path)
    window.add_rule(Kind.SCORE)
    name = window.selected_rule()
    window.set_rule(Rule("How enthusiastic is the review?", name=name, kind=Kind.SCORE))
    window._select(name)
    await session.evaluator.wait_idle(600)
    await answer_label_next(window, session, scores, args.labels)


async def why(window, session, args, tmp: Path) -> None:
    await window.open_path(ROOT / "resources" / "samples" / "support.fastsheet")
    await session.evaluator.wait_idle(900)
    window._select("on_policy")
    session.evaluator.explain("on_policy", range(5))
    window.model.show_reasons("on_policy")
    window._size_columns()
    await session.evaluator.wait_idle(600)
    col = window.model.rule_column_index("on_policy")
    window.table.setCurrentIndex(window.model.index(0, col))
    window._select("on_policy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("shot", choices=("label-next", "score", "why"))
    parser.add_argument("--out", required=True)
    parser.add_argument("--labels", type=int, default=40)
    parser.add_argument("--rows", type=int, default=160)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--body-chars", type=int, default=0, help="cut bodies (0: whole)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window()
    window.remember_layouts = False
    window.resize(1500, 860)
    window.show()
    code = {"code": 0}
    tmp = Path(tempfile.mkdtemp())

    async def run() -> None:
        session = await start(window, args.model, cache_path=tmp / "results.sqlite")
        if session is None:
            code["code"] = 2
            return
        shots = {"label-next": label_next, "score": score, "why": why}
        await shots[args.shot](window, session, args, tmp)
        window._refresh_panels()
        await asyncio.sleep(0.5)
        window.grab().save(args.out)
        window.close()

    with loop:
        loop.run_until_complete(run())
    shutdown(window)
    exit_now(code["code"])
    return code["code"]


if __name__ == "__main__":
    main()
