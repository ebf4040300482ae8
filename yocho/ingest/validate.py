"""Rule checks on parsed rows with a Great Expectations (GX Core 1.x) suite per feed.

The suite is built from the contract in code, run on an in-memory ephemeral context,
and every failing row is mapped back to its spreadsheet row through
`unexpected_index_list` (the pandas frame keeps a 0..n-1 index, so an index is a
position in `rows`). Each expectation's `meta["rule"]` says how to word the reason.
"""
from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

import great_expectations as gx
import pandas as pd
import polars as pl
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial
from great_expectations.expectations.row_conditions import Column as Where

from yocho.contract import Feed, Kind, valid_corporate_numbers
from yocho.ingest.parse import ERROR_SCHEMA

_DATASOURCE = "yocho_ingest"
_BATCH_DEFINITION = "whole_dataframe"
# Which file of a run a row came from (0..n-1): part of every uniqueness key.
PART = "__file"


@dataclass(frozen=True)
class ValidationOutcome:
    errors: pl.DataFrame  # source_row, column, reason, value: as parse errors
    results: list[dict]  # one JSON-ready summary per expectation
    success: bool


# --- the custom 法人番号 expectation ----------------------------------------------

class ColumnValuesValidCorporateNumber(ColumnMapMetricProvider):
    condition_metric_name = "column_values.yocho_valid_corporate_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs) -> pd.Series:
        # A business repeats on every monthly row; check each distinct number once, column-wise.
        distinct = column.unique()
        valid = valid_corporate_numbers(pl.Series([str(value) for value in distinct], dtype=pl.Utf8))
        return column.map(dict(zip(distinct, valid.to_list(), strict=True))).astype(bool)


class ExpectColumnValuesToBeValidCorporateNumber(ColumnMapExpectation):
    """Each non-null value is a 13-digit 法人番号 whose check digit (国税庁の計算式) holds."""

    map_metric = "column_values.yocho_valid_corporate_number"
    success_keys = ("mostly",)


# --- context -----------------------------------------------------------------

# GX contexts are not thread-safe; a flow running files concurrently shares one.
_lock = threading.Lock()


@functools.cache
def _context():
    """The process's one ephemeral (in-memory) context, with a pandas datasource."""
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.enable_analytics(False)  # customer data pipelines send nothing anywhere
    context.data_sources.add_pandas(_DATASOURCE)
    return context


@functools.cache
def _batch_definition(feed_name: str):
    """A dataframe asset per feed, its batch being the whole frame passed at run time."""
    asset = _context().data_sources.get(_DATASOURCE).add_dataframe_asset(feed_name)
    return asset.add_batch_definition_whole_dataframe(_BATCH_DEFINITION)


@functools.cache
def known_bank_codes() -> frozenset[str]:
    """統一金融機関コード of every bank in the 全銀 list shipped with zengin-code."""
    import zengin_code  # loads ~1,000 banks with their branches; only when asked

    return frozenset(zengin_code.Bank.all)


_known_bank_codes = known_bank_codes  # validate_batch's keyword argument shadows the name


# --- suite -------------------------------------------------------------------

def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def build_suite(feed: Feed, *, today: date, known_bank_codes: frozenset[str]) -> gx.ExpectationSuite:
    """One expectation per rule and column; meta["rule"] names the rule for the reasons."""
    suite = gx.ExpectationSuite(name=f"{feed.name}-{uuid.uuid4().hex}")
    add = suite.add_expectation
    cutoff = datetime.combine(today, time())
    for col in feed.columns:
        name = col.name
        if col.required:
            add(gx.expectations.ExpectColumnValuesToNotBeNull(
                column=name, meta={"rule": "required", "ja": col.ja},
                description=f"{name} ({col.ja}) is present"))
        if col.min_value is not None or col.max_value is not None:
            bounds = " and ".join(
                text for text in (
                    None if col.min_value is None else f"at least {_number(col.min_value)}",
                    None if col.max_value is None else f"at most {_number(col.max_value)}",
                ) if text
            )
            add(gx.expectations.ExpectColumnValuesToBeBetween(
                column=name, min_value=col.min_value, max_value=col.max_value,
                meta={"rule": "between", "min": col.min_value, "max": col.max_value},
                description=f"{name} is {bounds}"))
        if col.kind is Kind.CATEGORY and col.categories:
            add(gx.expectations.ExpectColumnValuesToBeInSet(
                column=name, value_set=sorted(col.categories), meta={"rule": "category"},
                description=f"{name} is one of {', '.join(col.categories)}"))
        elif col.kind is Kind.BANK_CODE:
            add(gx.expectations.ExpectColumnValuesToBeInSet(
                column=name, value_set=sorted(known_bank_codes), meta={"rule": "bank_code"},
                description=f"{name} is in the 全銀 bank code list"))
        elif col.kind is Kind.CORPORATE_NUMBER:
            add(ExpectColumnValuesToBeValidCorporateNumber(
                column=name, meta={"rule": "corporate_number"},
                description=f"{name} has a valid 法人番号 check digit"))
        elif col.kind in (Kind.DATE, Kind.MONTH):
            add(gx.expectations.ExpectColumnValuesToBeBetween(
                column=name, max_value=cutoff, meta={"rule": "future", "today": today.isoformat()},
                description=f"{name} is not after {today.isoformat()}"))

    # A key is unique within each file: several files of one feed are checked in one run
    # (validate_files), told apart by PART.
    add(gx.expectations.ExpectCompoundColumnsToBeUnique(
        column_list=[*feed.key, PART], ignore_row_if="any_value_is_missing",
        meta={"rule": "unique"}, description=f"({', '.join(feed.key)}) is unique within the file"))

    names = set(feed.column_names)
    if {"period_start", "period_end"} <= names:
        add(gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="period_end", column_B="period_start", or_equal=False,
            ignore_row_if="either_value_is_missing", meta={"rule": "period"},
            description="period_end is after period_start"))
    if "entity_type" in names and "corporate_number" in names:
        add(gx.expectations.ExpectColumnValuesToBeNull(
            column="corporate_number", row_condition=Where("entity_type") == "sole_proprietor",
            meta={"rule": "sole_proprietor"},
            description="sole proprietors (個人事業主) carry no 法人番号"))
    return suite


# --- running -----------------------------------------------------------------

def validate_batch(
    rows: pl.DataFrame,
    feed: Feed,
    *,
    today: date,
    known_bank_codes: frozenset[str] | None = None,
    raw_text: pl.DataFrame | None = None,
) -> ValidationOutcome:
    """Run the feed's suite on one file's parsed rows (with `source_row`); one error per failing cell.

    `raw_text` (ParseResult.raw_text: the cells as sent, row for row with `rows`) makes an
    error's value the text the sender wrote (△5, 1,077.4 in a 百万円 column) rather than
    the converted value."""
    return validate_files([(rows, raw_text)], feed, today=today, known_bank_codes=known_bank_codes)[0]


def validate_files(
    files: Sequence[tuple[pl.DataFrame, pl.DataFrame | None]],
    feed: Feed,
    *,
    today: date,
    known_bank_codes: frozenset[str] | None = None,
) -> list[ValidationOutcome]:
    """Validate several files of one feed in ONE suite run; one outcome per file, as if each
    had been validated alone (keys unique within each file, counts per file).

    Why together: a GX run costs about half a second before it reads a row (building the
    expectations' metric graph), so a night of many small files spent more time there than
    in every other ingest step together. `files` are (rows, raw_text) as for validate_batch."""
    if not files:
        return []
    for rows, raw_text in files:
        if raw_text is not None and raw_text.height != rows.height:
            raise ValueError(f"raw_text has {raw_text.height} rows, rows has {rows.height}")
    banks = known_bank_codes if known_bank_codes is not None else _known_bank_codes()
    rows = pl.concat(
        [r.with_columns(pl.lit(i, dtype=pl.Int32).alias(PART)) for i, (r, _) in enumerate(files)],
        how="vertical_relaxed",
    )
    texts = [t for _, t in files]
    # The text as sent is only quoted where every file has it; otherwise the value read.
    raw_text = None if any(t is None for t in texts) else pl.concat(texts, how="diagonal_relaxed")
    frame = _to_pandas(rows, feed)
    with _lock:
        context = _context()
        suite = context.suites.add(build_suite(feed, today=today, known_bank_codes=banks))
        definition = context.validation_definitions.add(gx.ValidationDefinition(
            name=f"{suite.name}-validation", data=_batch_definition(feed.name), suite=suite,
        ))
        try:
            run = definition.run(batch_parameters={"dataframe": frame}, result_format="COMPLETE")
        finally:
            # Per-run names never collide; deleting keeps a long-lived process from
            # accumulating one suite per file.
            context.validation_definitions.delete(definition.name)
            context.suites.delete(suite.name)

    sizes = pl.Series([r.height for r, _ in files], dtype=pl.Int64)
    results: list[list[dict]] = [[] for _ in files]
    errors: list[pl.DataFrame] = []
    for result in run.results:
        config = result.expectation_config
        detail = result.result or {}
        column = config.kwargs.get("column")
        if column is None:
            column = config.kwargs.get("column_list") or [config.kwargs.get("column_A"), config.kwargs.get("column_B")]
            column = [c for c in column if c != PART]
        exception = result.exception_info or {}
        if exception.get("raised_exception"):
            # A rule that crashed says nothing about the rows; surface it, don't hide it.
            raise RuntimeError(f"{config.type} on {column}: {exception.get('exception_message')}")
        index = detail.get("unexpected_index_list") or []
        # Failing rows per file: positions in the run map to files through PART.
        failing = (
            rows[PART].gather(pl.Series(index, dtype=pl.Int64)).value_counts().rows()
            if index else []
        )
        unexpected = dict(failing)
        for part, size in enumerate(sizes):
            results[part].append({
                "expectation": config.type,
                "column": column if isinstance(column, str) else ", ".join(column),
                "success": unexpected.get(part, 0) == 0,
                "unexpected_count": int(unexpected.get(part, 0)),
                "element_count": int(size),
                "description": config.description,
            })
        if not result.success:
            errors.append(_row_errors(rows, feed, config.meta["rule"], config, index, raw_text))

    error_frame = (
        pl.concat(errors).sort(PART, "source_row", maintain_order=True)
        if errors else pl.DataFrame(schema={**ERROR_SCHEMA, PART: pl.Int32})
    )
    by_file = {key[0]: part for key, part in error_frame.partition_by(PART, as_dict=True).items()}
    outcomes = []
    for part, file_results in enumerate(results):
        file_errors = by_file.get(part, error_frame.clear()).drop(PART)
        outcomes.append(ValidationOutcome(
            errors=file_errors, results=file_results, success=all(r["success"] for r in file_results)))
    return outcomes


def _to_pandas(rows: pl.DataFrame, feed: Feed) -> pd.DataFrame:
    """GX's pandas range check is vectorised only for int64/float64 and datetime64[ns];
    anything else (Int32, datetime64[ms] from polars dates) goes through a Python call
    per value, which costs seconds per million rows."""
    columns = []
    for col in feed.columns:
        dtype = rows.schema[col.name]
        if dtype == pl.Date:
            columns.append(pl.col(col.name).cast(pl.Datetime("ns")))
        elif dtype.is_integer():
            columns.append(pl.col(col.name).cast(pl.Int64))
        else:
            columns.append(pl.col(col.name))
    return rows.select(*columns, pl.col(PART)).to_pandas()


def _row_errors(rows: pl.DataFrame, feed: Feed, rule: str, config, index: list,
                raw_text: pl.DataFrame | None = None) -> pl.DataFrame:
    """Failing rows of one expectation as (source_row, column, reason, value), reasons
    worded from the rule and computed over all failing rows at once."""
    positions = pl.Series(index, dtype=pl.Int64)
    failing = rows[positions] if index else rows.clear()
    meta = config.meta
    if rule == "unique":
        column = feed.key[0] if len(feed.key) == 1 else None
        value = pl.concat_str([pl.col(k).cast(pl.Utf8) for k in feed.key], separator=" / ", ignore_nulls=True)
        reason = pl.lit(f"duplicate key ({', '.join(feed.key)}) within the file")
    elif rule == "period":
        column = "period_end"
        value = pl.format("{} .. {}", pl.col("period_start"), pl.col("period_end"))
        reason = pl.lit("period_end is not after period_start")
    else:
        column = config.kwargs["column"]
        value = pl.col(column).cast(pl.Utf8)
        if raw_text is not None and column in raw_text.columns:
            failing = failing.with_columns(raw_text[column].gather(positions).cast(pl.Utf8).alias("__sent"))
        reason = {
            "required": pl.lit(f"{column} ({meta.get('ja')}) is required but empty"),
            "between": _bound_reason(column, meta.get("min"), meta.get("max")),
            "category": pl.format(f"'{{}}' is not a known {column}", value),
            "bank_code": pl.format("bank code {} not in the 全銀 bank code list", value),
            "corporate_number": pl.lit("法人番号 check digit invalid"),
            "future": pl.lit(f"date is in the future (after {meta.get('today')})"),
            "sole_proprietor": pl.lit("a sole proprietor (個人事業主) must not carry a 法人番号"),
        }[rule]
    # Reasons quote the value as read; the value column is the text as sent where known.
    sent = pl.col("__sent") if "__sent" in failing.columns else value
    return failing.select(
        pl.col(PART),
        pl.col("source_row").cast(pl.Int32),
        pl.lit(column, dtype=pl.Utf8).alias("column"),
        reason.cast(pl.Utf8).alias("reason"),
        sent.cast(pl.Utf8).alias("value"),
    )


def _bound_reason(column: str, low: float | None, high: float | None) -> pl.Expr:
    below = pl.col(column) < low if low is not None else pl.lit(False)
    return (
        pl.when(below).then(pl.lit(f"below minimum {_number(low) if low is not None else ''}"))
        .otherwise(pl.lit(f"above maximum {_number(high) if high is not None else ''}"))
    )
