"""The budgeted watch list: what a review team with a fixed monthly capacity would catch with a
given ranking, and how early. One definition serves every ranking compared (the model's
held-out scores, the generator's true risk, perfect foresight, the flag policy), so their
figures differ only by the ranking.

Each month-end of the evaluation the team adds to its watch list the top
⌈budget share × businesses monitored that month⌉ ranked businesses that are not already on it
(new entries); an entry stays on the list for `RETENTION_MONTHS`. Only businesses in the
month's eligible universe (monitored, features/pit.py, and not already in a deterioration
event) can be added; a business with no score that month is not a candidate (a policy that
flags fewer than the budget leaves the rest of the budget unused).

Figures (`evaluate`):

- **recall**: of the businesses whose first deterioration event falls in the evaluation
  window and that were eligible in at least one month of the 12 before it, the share that
  entered the list in those 12 months (and so were on it when the event happened);
- **lead**: months from that entry to the event month (1 … 12);
- **precision**: the share of new entries followed by an event within 12 months, over the
  entries whose 12 months are observed.

The evaluation window holds the event months whose 12 months before are all list months, so
every event had the same twelve chances to be caught whatever month it fell in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

# An entry is a prediction that the business deteriorates within 12 months, the label
# horizon the model is trained on (models.labels.HORIZON_MONTHS); reviewing the same business
# again within that year would spend budget on a case already being watched, and after it
# the prediction has expired and the business may be entered afresh.
RETENTION_MONTHS = 12
# An event counts as caught when the business entered the list in these months before it.
LOOKBACK_MONTHS = RETENTION_MONTHS


def month_index(column: str) -> pl.Expr:
    """Months since year 0 of a date column: month arithmetic without calendar days."""
    return pl.col(column).dt.year().cast(pl.Int64) * 12 + pl.col(column).dt.month().cast(pl.Int64) - 1


def budget_entries(monitored: int, budget_share: float) -> int:
    """New entries a month allows: ⌈budget share × businesses monitored⌉."""
    return math.ceil(budget_share * monitored - 1e-9) if monitored else 0


def simulate(scores: pl.DataFrame, universe: pl.DataFrame, budget_share: float) -> pl.DataFrame:
    """The list's new entries month by month: business_key, as_of (the month-end it entered),
    score, entry_rank (1 = first added that month).

    `scores`: business_key, as_of, score (higher = review first; null = not a candidate).
    `universe`: business_key, as_of, one row per business eligible that month; its row count
    per month is the monitored count the budget is a share of. Months are the universe's.
    Loops over months only: which businesses are still on the list depends on the entries of
    the 11 months before."""
    universe = universe.select("business_key", "as_of").unique()
    candidates = (scores.select("business_key", "as_of", "score").filter(pl.col("score").is_not_null())
                  .join(universe, on=["business_key", "as_of"], how="semi"))
    sizes = universe.group_by("as_of").agg(monitored=pl.len()).sort("as_of")
    entries = pl.DataFrame(schema={"business_key": pl.Utf8, "as_of": pl.Date, "score": pl.Float64,
                                   "entry_rank": pl.Int64, "month": pl.Int64})
    by_month = candidates.partition_by("as_of", as_dict=True)
    for as_of, monitored in sizes.iter_rows():
        month = as_of.year * 12 + as_of.month - 1
        month_rows = by_month.get((as_of,))
        if month_rows is None:
            continue
        on_list = entries.filter(pl.col("month") > month - RETENTION_MONTHS).select("business_key")
        added = (month_rows.join(on_list, on="business_key", how="anti")
                 .sort(["score", "business_key"], descending=[True, False])
                 .head(budget_entries(monitored, budget_share))
                 .with_columns(entry_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64), month=pl.lit(month)))
        entries = pl.concat([entries, added.select(entries.columns).cast(entries.schema)])
    return entries.drop("month")


def first_events(events: pl.DataFrame) -> pl.DataFrame:
    """business_key, event_on: each business's first deterioration event."""
    return events.group_by("business_key").agg(event_on=pl.col("event_on").min())


@dataclass(frozen=True)
class Window:
    """Event months evaluated (first and last month, as dates of any day in them) and the
    last month whose events are all observed (for precision)."""
    first_event_month: date
    last_event_month: date
    observed_month: date


def default_window(universe: pl.DataFrame, observed_until: date) -> Window | None:
    """Event months whose 12 months before are all list months, up to the last month fully
    observed by `observed_until` (a month is observed once its last day is). None when the
    list ran for less than 12 months."""
    months = universe["as_of"].unique().sort()
    if months.is_empty():
        return None
    first, last = months[0], months[-1]
    # the last month whose last day is on or before observed_until
    observed = _add_months(date(observed_until.year, observed_until.month, 1),
                           0 if (observed_until + timedelta(days=1)).day == 1 else -1)
    start = _add_months(date(first.year, first.month, 1), LOOKBACK_MONTHS)
    end = min(_add_months(date(last.year, last.month, 1), 1), observed)
    return Window(start, end, observed) if start <= end else None


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, 1)


def evaluate(entries: pl.DataFrame, universe: pl.DataFrame, events: pl.DataFrame, window: Window) -> dict:
    """Recall, leads and precision of a list's entries (see the module's docstring).

    `events`: business_key, event_on (any events; each business's first counts)."""
    first = first_events(events).with_columns(event_month=month_index("event_on"))
    lo, hi = (d.year * 12 + d.month - 1 for d in (window.first_event_month, window.last_event_month))
    eligible = universe.select("business_key", month=month_index("as_of")).unique()
    # the businesses that could have been entered in the 12 months before their event
    due = (first.filter(pl.col("event_month").is_between(lo, hi))
           .join(eligible, on="business_key")
           .filter(pl.col("month").is_between(pl.col("event_month") - LOOKBACK_MONTHS, pl.col("event_month") - 1))
           .group_by("business_key").agg(pl.col("event_month").first()))
    entered = entries.select("business_key", entry_month=month_index("as_of"))
    caught = (due.join(entered, on="business_key")
              .filter(pl.col("entry_month").is_between(pl.col("event_month") - LOOKBACK_MONTHS,
                                                       pl.col("event_month") - 1))
              .group_by("business_key").agg(lead=(pl.col("event_month") - pl.col("entry_month")).max()))
    observed = window.observed_month.year * 12 + window.observed_month.month - 1
    judged = (entered.filter(pl.col("entry_month") + RETENTION_MONTHS <= observed)
              .join(first.select("business_key", "event_month"), on="business_key", how="left"))
    hits = judged.filter(pl.col("event_month").is_between(pl.col("entry_month") + 1,
                                                          pl.col("entry_month") + RETENTION_MONTHS)).height
    return {
        "events": due.height,
        "caught": caught.height,
        "recall": caught.height / due.height if due.height else None,
        "median_lead_months": float(caught["lead"].median()) if caught.height else None,
        "entries": entries.height,
        "entries_judged": judged.height,
        "precision": hits / judged.height if judged.height else None,
    }


def leads(entries: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """business_key, event_on, entered_on, lead_months for every business whose first event
    came within 12 months of its entry."""
    first = first_events(events)
    return (entries.select("business_key", entered_on="as_of").join(first, on="business_key")
            .with_columns(lead_months=month_index("event_on") - month_index("entered_on"))
            .filter(pl.col("lead_months").is_between(1, LOOKBACK_MONTHS)).sort("business_key"))
