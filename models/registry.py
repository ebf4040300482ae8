"""Versioned model artefacts: one skops file and one model card per version, a champion
pointer, and an append-only log of promotion decisions.

skops instead of pickle: loading a pickle runs whatever code it names; skops loads only
types it is told to trust, and the list below is the types our pipelines are made of.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import skops.io as sio

# Types inside the project's pipelines that skops does not trust by default.
TRUSTED_TYPES = frozenset({
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.TimeSeriesSplit",
    "sklearn.model_selection._split.KFold",
})


log = logging.getLogger(__name__)


class UntrustedModelError(Exception):
    pass


class FeatureListError(Exception):
    """A version whose card and artefact disagree on the columns the model was fitted on,
    or that records them nowhere."""


# Card fields written by earlier versions of the code and no longer kept: dropped on reading.
RETIRED_CARD_FIELDS = frozenset({"notes"})


@dataclass(frozen=True)
class ModelCard:
    version: str
    model: str  # scorecard | boosted
    trained_at: str
    training_from: str  # first and last as-of date of the training rows
    training_until: str
    data_fingerprint: str  # hash of the training rows' keys and labels
    code_version: str
    packages: dict[str, str]
    # The panel columns the estimator was fitted on, in that order (its feature_names_in_).
    # Scoring, explanations and drift read exactly these, whatever the catalog holds today.
    features: list[str]
    metrics: dict[str, float]  # backtest figures on the held-out period
    thresholds: dict[str, float] = field(default_factory=dict)  # indicator thresholds in force
    training_rows: int = 0
    positives: int = 0
    businesses: int = 0
    backtest_from: str = ""  # first as-of date held out for the backtest
    backtest_train_until: str = ""  # backtest's training rows end before this (label embargo)
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)  # every candidate's backtest
    calibration: list[dict] = field(default_factory=list)  # held-out calibration table
    explanation: str = ""  # how the top factors are computed
    drift_score_psi: float | None = None
    drift_top: list[dict] = field(default_factory=list)
    backtest_months: list[dict] = field(default_factory=list)  # the chosen model's figures per held-out month
    trained_until: str = ""  # `yocho train --until`: the history known on this date only ("" = all)
    # the model and the flag policy against the best possible ranking at the monthly review
    # budget (models/budget_comparison.py); only when the data folder holds generator truth
    watchlist: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    challenger: str
    champion: str | None
    promoted: bool
    metric: str
    challenger_value: float
    champion_value: float | None
    decided_at: str
    reason: str


class Registry:
    def __init__(self, root: Path):
        self.root = Path(root)

    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "card.json").exists())

    def save(self, pipeline: object, card: ModelCard, documents: dict[str, str] | None = None) -> Path:
        """Write the version's folder: model.skops, card.json and any `documents` (name ->
        text, e.g. the card in markdown)."""
        folder = self.root / card.version
        if folder.exists():
            raise FileExistsError(f"model version {card.version} already exists in {self.root}")
        fitted = fitted_columns(pipeline)
        if fitted is not None and fitted != list(card.features):
            raise FeatureListError(f"model version {card.version}: the card's feature list is not the one the model "
                                   "was fitted on (its feature_names_in_)")
        partial = self.root / f".{card.version}.partial"
        partial.mkdir(parents=True)
        sio.dump(pipeline, partial / "model.skops")
        (partial / "card.json").write_text(json.dumps(asdict(card), ensure_ascii=False, indent=2), encoding="utf-8")
        for name, text in (documents or {}).items():
            (partial / name).write_text(text, encoding="utf-8")
        os.replace(partial, folder)  # a version appears whole or not at all
        return folder

    def card(self, version: str) -> ModelCard:
        fields = json.loads((self.root / version / "card.json").read_text(encoding="utf-8"))
        fields.setdefault("features", [])  # none recorded: load() takes the artefact's
        return ModelCard(**{k: v for k, v in fields.items() if k not in RETIRED_CARD_FIELDS})

    def load(self, version: str) -> tuple[object, ModelCard]:
        """The fitted pipeline and its card, whose `features` are the columns the pipeline was
        fitted on, in order. A card without a feature list (every card this code writes has
        one) falls back to the list the skops artefact records (the pipeline's
        feature_names_in_); a card and an artefact that disagree, or a version that records
        the list nowhere, raise FeatureListError: retrain (`yocho train`)."""
        path = self.root / version / "model.skops"
        found = set(sio.get_untrusted_types(file=path))
        if found - TRUSTED_TYPES:
            raise UntrustedModelError(
                f"{path} contains types this project does not trust: {sorted(found - TRUSTED_TYPES)}"
            )
        pipeline, card = sio.load(path, trusted=sorted(found)), self.card(version)
        fitted = fitted_columns(pipeline)
        if not card.features:
            if fitted is None:
                raise FeatureListError(f"model version {version} records no feature list, in its card or its "
                                       "artefact: retrain (yocho train)")
            log.warning("model version %s: card.json has no feature list; using the %d columns its artefact "
                        "was fitted on", version, len(fitted))
            card = replace(card, features=fitted)
        elif fitted is not None and fitted != list(card.features):
            raise FeatureListError(
                f"model version {version}: card.json lists {len(card.features)} feature columns, model.skops was "
                f"fitted on {len(fitted)}, not the same ones in the same order; the folder was altered: retrain "
                "(yocho train)")
        return pipeline, card

    def champion(self) -> str | None:
        pointer = self.root / "champion.json"
        return json.loads(pointer.read_text())["version"] if pointer.exists() else None

    def promote_if_not_worse(self, challenger: str, metric: str = "pr_auc", tolerance: float = 0.0) -> Decision:
        """The challenger replaces the champion unless its backtest `metric` is lower by
        more than `tolerance`. The decision is appended to decisions.jsonl either way."""
        current = self.champion()
        value = self.card(challenger).metrics[metric]
        best = self.card(current).metrics[metric] if current else None
        promoted = best is None or value >= best - tolerance
        reason = (
            "no champion yet" if best is None
            else f"{metric} {value:.4f} {'>=' if promoted else '<'} champion's {best:.4f}"
            + (f" - {tolerance}" if tolerance else "")
        )
        decision = Decision(challenger, current, promoted, metric, value, best,
                            datetime.now(UTC).isoformat(timespec="seconds"), reason)
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "decisions.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(asdict(decision), ensure_ascii=False) + "\n")
        if promoted:
            tmp = self.root / "champion.json.partial"
            tmp.write_text(json.dumps({"version": challenger}))
            os.replace(tmp, self.root / "champion.json")
        return decision

    def decisions(self) -> list[Decision]:
        log = self.root / "decisions.jsonl"
        if not log.exists():
            return []
        return [Decision(**json.loads(line)) for line in log.read_text(encoding="utf-8").splitlines() if line]


def fitted_columns(pipeline: object) -> list[str] | None:
    """The columns a fitted scikit-learn estimator was given, in order; None if it does not
    record them (fitted on an array, or not fitted)."""
    names = getattr(pipeline, "feature_names_in_", None)
    return None if names is None else [str(c) for c in names]
