"""The compiler's dev set: rules over real and generated tables, each with its truth
written by hand in polars, and edits with the direction the true count must move.

Tables: five real ones from bench/data/compile/ (see its README), the customers table
generated here (US states, dates, plans, spending, interests, a note whose meaning the
generator knows), the fraud transactions and the candidates of resources/samples/. Each
rule is one of: exact (a formula decides it), mixed (an exact part and a fuzzy rest) or
fuzzy (nothing in it is exact: it must not compile).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fastsheet.data.table import load_table

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "compile"
SAMPLES = ROOT / "resources" / "samples"

Truth = Callable[[pl.DataFrame], pl.Series]


@dataclass(frozen=True)
class Case:
    """A rule over a table, its truth, its shape, and the rule it is an edit of."""

    table: str
    text: str
    truth: Truth
    shape: str  # "exact" | "mixed" | "fuzzy"
    what: str  # what it exercises: number, enumeration, list, date, unit, ...
    edit_of: str = ""  # the rule this one edits
    direction: str = ""  # how the true count moves from the rule it edits: up, down, same


def c(expr: pl.Expr) -> Truth:
    return lambda frame: frame.select(expr.fill_null(False).alias("t"))["t"]


# ----- generated tables ----------------------------------------------------------------

_STATES = [
    "CA",
    "OR",
    "WA",
    "NV",
    "AZ",
    "TX",
    "NY",
    "NJ",
    "PA",
    "MA",
    "CT",
    "RI",
    "VT",
    "NH",
    "ME",
    "FL",
    "GA",
    "IL",
    "OH",
    "MI",
    "WI",
    "MN",
    "CO",
    "UT",
    "NC",
    "VA",
]
_INTERESTS = ("cooking", "hiking", "travel", "gaming", "music", "reading", "gardening")
_NOTES = {  # what the note says -> its texts
    "refund": [
        "Asked for a refund: the blender arrived broken.",
        "Wants their money back for the jacket, it did not fit.",
        "Requested a refund because the order never showed up.",
    ],
    "delivery": [
        "Complained that the delivery was two weeks late.",
        "The courier left the parcel in the rain; not happy with shipping.",
        "Package arrived late again and the box was crushed.",
    ],
    "praise": [
        "Loves the new app, says checkout is much faster.",
        "Thanked support for the quick help with the login.",
        "Very happy with the quality, will order again.",
    ],
    "question": [
        "Asked whether the pro plan includes team seats.",
        "Wanted to know how to change the billing address.",
        "Asked if we ship to Canada.",
    ],
}
ANGRY = {"delivery"}


def customers(n: int = 300, seed: int = 7) -> pl.DataFrame:
    """The generated customers, with the note's meaning in `note_kind` (never shown)."""
    rng = random.Random(seed)
    start = dt.date(2022, 1, 1)
    rows = []
    for i in range(n):
        kind = rng.choice(list(_NOTES))
        plan = rng.choices(["free", "basic", "pro", "enterprise"], [4, 3, 2, 1])[0]
        spend = 0.0 if plan == "free" else round(rng.uniform(5, 400), 2)
        rows.append(
            {
                "customer_id": f"C{1000 + i}",
                "state": rng.choice(_STATES),
                "signup": start + dt.timedelta(days=rng.randrange(3 * 365)),
                "plan": plan,
                "monthly_spend_usd": spend,
                "interests": ", ".join(rng.sample(_INTERESTS, rng.randint(1, 3))),
                "note": rng.choice(_NOTES[kind]),
                "note_kind": kind,
            }
        )
    return pl.DataFrame(rows)


def _generator():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_samples", module)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def candidates() -> pl.DataFrame:
    """The candidates sample with the generator's own truth columns (never shown)."""
    truth = _generator().candidates(truth=True)
    frame = load_table(SAMPLES / "candidates.csv").drop("qualifies")
    return frame.with_columns(
        backend=truth["summary"].str.starts_with("Backend engineer"),
        distributed=truth["distributed"],
    )


def transactions(n: int = 400, seed: int = 3) -> pl.DataFrame:
    return load_table(SAMPLES / "transactions.csv").drop("fraud").sample(n, seed=seed)


def tables() -> dict[str, pl.DataFrame]:
    real = {name: load_table(DATA / f"{name}.csv") for name in REAL}
    return real | {
        "customers": customers(),
        "candidates": candidates(),
        "transactions": transactions(),
        "reviews": load_table(SAMPLES / "reviews_sample.csv"),
    }


REAL = ("mpg", "msleep", "penguins", "midwest", "diamonds")
#: columns that hold a table's truth: never described to the model, never in a record
HIDDEN = {
    "customers": ("note_kind",),
    "candidates": ("backend", "distributed"),
    "reviews": ("gold",),
}


def _items(column: str, item: str) -> pl.Expr:
    return pl.col(column).str.split(", ").list.contains(item)


def _not_among(column: str) -> Truth:
    return lambda f: pl.Series(
        [cat not in items.split(", ") for cat, items in zip(f["category"], f[column], strict=True)]
    )


C = pl.col
CASES: tuple[Case, ...] = (
    # mpg: makers, classes, numbers, prefixes
    Case("mpg", "Flag cars made by Japanese manufacturers.", c(C("manufacturer").is_in(["honda", "nissan", "subaru", "toyota"])), "exact", "enumeration"),
    Case("mpg", "Cars from German makers", c(C("manufacturer").is_in(["audi", "volkswagen"])), "exact", "enumeration"),
    Case("mpg", "Highway mileage of at least 30 mpg", c(C("hwy") >= 30), "exact", "number"),
    Case("mpg", "Highway mileage of at least 25 mpg", c(C("hwy") >= 25), "exact", "number", "Highway mileage of at least 30 mpg", "up"),
    Case("mpg", "SUVs and pickups", c(C("class").is_in(["suv", "pickup"])), "exact", "category"),
    Case("mpg", "Cars with an automatic transmission", c(C("trans").str.starts_with("auto")), "exact", "prefix"),
    Case("mpg", "Four-wheel drive cars built in 2008", c((C("drv") == "4") & (C("year") == 2008)), "exact", "category"),
    Case("mpg", "Cars with 8 cylinders that are not pickups", c((C("cyl") == 8) & (C("class") != "pickup")), "exact", "negation"),
    Case("mpg", "Engines larger than 4 liters", c(C("displ") > 4), "exact", "number"),
    Case("mpg", "Engines larger than 5 liters", c(C("displ") > 5), "exact", "number", "Engines larger than 4 liters", "down"),
    # msleep
    Case("msleep", "Animals that sleep more than 12 hours a day", c(C("sleep_total") > 12), "exact", "number"),
    Case("msleep", "Animals that sleep more than 15 hours a day", c(C("sleep_total") > 15), "exact", "number", "Animals that sleep more than 12 hours a day", "down"),
    Case("msleep", "Primates", c(C("order") == "Primates"), "exact", "category"),
    Case("msleep", "Carnivores or insectivores", c(C("vore").is_in(["carni", "insecti"])), "exact", "category"),
    Case("msleep", "Animals awake for less than 10 hours", c(C("awake") < 10), "exact", "number"),
    Case("msleep", "Rodents that are not domesticated", c((C("order") == "Rodentia") & (C("conservation").fill_null("") != "domesticated")), "exact", "negation"),
    # penguins: units
    Case("penguins", "Penguins heavier than 5 kg", c(C("body_mass_g") > 5000), "exact", "unit"),
    Case("penguins", "Penguins heavier than 4.5 kg", c(C("body_mass_g") > 4500), "exact", "unit", "Penguins heavier than 5 kg", "up"),
    Case("penguins", "Female Gentoo penguins", c((C("species") == "Gentoo") & (C("sex") == "female")), "exact", "category"),
    Case("penguins", "Penguins not from Biscoe island", c(C("island") != "Biscoe"), "exact", "negation"),
    Case("penguins", "Flippers longer than 20 cm", c(C("flipper_length_mm") > 200), "exact", "unit"),
    # midwest: state codes, numbers
    Case("midwest", "Counties in Wisconsin or Michigan", c(C("state").is_in(["WI", "MI"])), "exact", "enumeration"),
    Case("midwest", "Counties with more than 100,000 people", c(C("poptotal") > 100_000), "exact", "number"),
    Case("midwest", "Counties with more than 1 million people", c(C("poptotal") > 1_000_000), "exact", "number", "Counties with more than 100,000 people", "down"),
    Case("midwest", "Metro counties in Ohio", c((C("inmetro") == 1) & (C("state") == "OH")), "exact", "category"),
    Case("midwest", "Counties where over 30% of people have a college degree", c(C("percollege") > 30), "exact", "number"),
    # diamonds
    Case("diamonds", "Diamonds over one carat priced under $5,000", c((C("carat") > 1) & (C("price") < 5000)), "exact", "number"),
    Case("diamonds", "Ideal or premium cut diamonds", c(C("cut").is_in(["Ideal", "Premium"])), "exact", "category"),
    Case("diamonds", "Colorless diamonds (color D, E or F)", c(C("color").is_in(["D", "E", "F"])), "exact", "category"),
    Case("diamonds", "Diamonds priced over $10,000", c(C("price") > 10_000), "exact", "number"),
    Case("diamonds", "Diamonds priced over $15,000", c(C("price") > 15_000), "exact", "number", "Diamonds priced over $10,000", "down"),
    # customers: regions, seasons, dates, lists, mixed and fuzzy
    Case("customers", "Customers in New England", c(C("state").is_in(["CT", "MA", "ME", "NH", "RI", "VT"])), "exact", "enumeration"),
    Case("customers", "Customers on the West Coast", c(C("state").is_in(["CA", "OR", "WA"])), "exact", "enumeration"),
    Case("customers", "Customers who signed up in 2024", c(C("signup").dt.year() == 2024), "exact", "date"),
    Case("customers", "Customers who signed up in the second half of 2024", c((C("signup").dt.year() == 2024) & (C("signup").dt.month() >= 7)), "exact", "date", "Customers who signed up in 2024", "down"),
    Case("customers", "Customers who signed up in winter", c(C("signup").dt.month().is_in([12, 1, 2])), "exact", "season"),
    Case("customers", "Paying customers who spend over $100 a month", c((C("plan") != "free") & (C("monthly_spend_usd") > 100)), "exact", "number"),
    Case("customers", "Customers interested in cooking", c(_items("interests", "cooking")), "exact", "list"),
    Case("customers", "Customers not interested in travel", c(~_items("interests", "travel")), "exact", "list"),
    Case("customers", "Pro customers whose note asks for a refund", c((C("plan") == "pro") & (C("note_kind") == "refund")), "mixed", "mixed"),
    Case("customers", "Customers in New York, New Jersey or Pennsylvania who complained about delivery", c(C("state").is_in(["NY", "NJ", "PA"]) & (C("note_kind") == "delivery")), "mixed", "mixed"),
    Case("customers", "The note sounds annoyed", c(C("note_kind").is_in(list(ANGRY))), "fuzzy", "fuzzy"),
    Case("customers", "The customer asks a question in the note", c(C("note_kind") == "question"), "fuzzy", "fuzzy"),
    # reviews: free text
    Case("reviews", "The review is positive.", c(C("gold")), "fuzzy", "fuzzy"),
    Case("reviews", "Positive reviews from yelp", c(C("gold") & (C("source") == "yelp")), "mixed", "mixed"),
    # the seed's wordings
    Case("transactions", "Flag if merchant category doesn't match customer's typical spending pattern", _not_among("usual_spending"), "exact", "list"),
    Case("transactions", "Flag if merchant category doesn't match customer's last 90 days spending pattern", _not_among("last_90_days"), "exact", "list", "Flag if merchant category doesn't match customer's typical spending pattern", "down"),
    Case("candidates", "5+ years backend, distributed systems", c(C("backend") & C("distributed") & (C("years_experience") >= 5)), "mixed", "mixed"),
    Case("candidates", "3+ years backend, distributed systems", c(C("backend") & C("distributed") & (C("years_experience") >= 3)), "mixed", "mixed", "5+ years backend, distributed systems", "up"),
    Case("candidates", "3+ years backend, distributed systems, healthcare preferred", c(C("backend") & C("distributed") & (C("years_experience") >= 3)), "mixed", "preference", "3+ years backend, distributed systems", "same"),
)  # fmt: skip
