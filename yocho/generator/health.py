"""Latent health: how each business is really doing, month by month, and what happens to it.

Health h is centred near 0 for a normal business; negative is trouble. It is the sum of
a business-level AR(1) wobble, a slow business-specific drift, its industry's shared
shocks, and -- for the businesses heading for an outcome event -- a decline that starts
6 to 18 months before the event. Some declines stop short of an event (near misses),
which is what makes isolated warning signs on healthy books ambiguous.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yocho.generator.population import DIVISIONS, Population
from yocho.generator.timeline import Timeline

# Outcome paths: the kind of first event, and what follows it.
NONE, RESTRUCTURING, DOWNGRADE, DPD90, BANKRUPTCY = 0, 1, 2, 3, 4
PATH_EVENT = {RESTRUCTURING: "restructuring", DOWNGRADE: "downgrade", DPD90: "dpd90", BANKRUPTCY: "legal_bankruptcy"}
_PATH_P = np.array([0.38, 0.17, 0.33, 0.12])
_RECOVER_P = np.array([0.0, 0.70, 0.45, 0.12, 0.0])
NEVER = 10**6  # month index meaning "does not happen"


def industry_levels(seed: int, horizon: int) -> np.ndarray:
    """(divisions, horizon) shared industry condition; the same for every chunk.

    A slow AR(1) per industry plus one sharp downturn for a random industry (a demand
    shock such as the 2020 one for inns and restaurants), recovering over a year.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31 - 1,)))
    k = len(DIVISIONS)
    level = np.zeros((k, horizon))
    x = rng.normal(0, 0.15, k)
    for t in range(horizon):
        x = 0.92 * x + rng.normal(0, 0.06, k)
        level[:, t] = x
    hit = rng.integers(0, k)
    start = rng.integers(horizon // 4, horizon // 2)
    span = np.arange(horizon) - start
    level[hit] -= np.where(span >= 0, 0.6 * np.exp(-np.maximum(span, 0) / 10.0), 0.0)
    return level


@dataclass
class Health:
    h: np.ndarray              # (n, T) latent health
    event_month: np.ndarray    # first event month index (may be >= T: after the window), NEVER if none
    onset: np.ndarray          # month the decline towards the event began
    path: np.ndarray           # NONE..BANKRUPTCY
    recovers: np.ndarray
    restructured_from: np.ndarray  # month loans are restructured (条件変更), NEVER if not
    bankrupt_month: np.ndarray     # legal bankruptcy month, NEVER if not
    default_from: np.ndarray       # month from which loans may pass 90 days past due
    stop_month: np.ndarray         # last month the business operates
    subrogation_request: np.ndarray  # month the lender asks the association to pay, NEVER if not
    subrogation_paid: np.ndarray
    near_miss: np.ndarray
    drift: np.ndarray

    @property
    def distress(self) -> np.ndarray:
        return np.maximum(0.0, -self.h)


def simulate_health(pop: Population, tl: Timeline, levels: np.ndarray, rng: np.random.Generator) -> Health:
    n, T, H, P = pop.n, tl.T, tl.horizon, tl.pre
    t_all = np.arange(H)

    # First event month: monthly hazard, raised while the business's industry is down.
    # Events are placed from the first written month on: the portfolio is a set of
    # performing borrowers at the start of the window.
    lam = pop.hazard[:, None] * np.exp(-1.2 * levels[pop.division][:, :H])
    hit = (rng.random((n, H)) < lam) & (t_all[None, :] >= P)
    event_month = np.where(hit.any(axis=1), hit.argmax(axis=1), NEVER)
    has_event = event_month < NEVER
    path = np.where(has_event, 1 + rng.choice(4, size=n, p=_PATH_P), NONE)
    recovers = rng.random(n) < _RECOVER_P[path]
    lead = rng.integers(6, 19, n)
    onset = np.where(has_event, event_month - lead, NEVER)
    depth = rng.uniform(1.9, 2.7, n)
    tau = rng.uniform(5, 12, n)

    t = np.arange(T)[None, :]
    E = event_month[:, None]
    s = np.clip((t - onset[:, None]) / np.maximum(lead, 1)[:, None], 0, 1)
    before = depth[:, None] * s ** 1.4
    after = np.where(recovers[:, None],
                     depth[:, None] * np.exp(-np.maximum(t - E, 0) / tau[:, None]),
                     depth[:, None] + 0.08 * (t - E))
    decline = np.where(has_event[:, None], np.where(t <= E, before, after), 0.0)

    # Near misses: a shallower dip that turns around without an event.
    nm_hit = (rng.random((n, T)) < 0.03 / 12) & (t >= P - 6)
    near_miss = nm_hit.any(axis=1) & ~has_event
    nm_start = np.where(near_miss, nm_hit.argmax(axis=1), NEVER)[:, None]
    nm_len = rng.integers(3, 10, n)[:, None]
    nm_depth = rng.uniform(0.7, 1.3, n)[:, None]
    nm_tau = rng.uniform(3, 8, n)[:, None]
    rel = t - nm_start
    dip = np.where(rel < 0, 0.0, np.where(rel <= nm_len, nm_depth * (np.clip(rel, 0, None) / nm_len) ** 1.2,
                                          nm_depth * np.exp(-np.maximum(rel - nm_len, 0) / nm_tau)))

    z = np.zeros((n, T))
    x = rng.normal(0, 0.3, n)
    for m in range(T):
        x = 0.85 * x + rng.normal(0, 0.16, n)
        z[:, m] = x
    drift = np.clip(rng.normal(0, 0.10, n), -0.3, 0.3)
    h = (-0.15 * pop.frailty[:, None] + z + drift[:, None] * (t - P) / 12
         + levels[pop.division][:, :T] - decline - dip)

    # What follows the first event.
    ev = event_month
    restructured_from = np.full(n, NEVER)
    restructured_from = np.where(path == RESTRUCTURING, ev, restructured_from)
    restructured_from = np.where((path == DOWNGRADE) & (rng.random(n) < 0.4), ev, restructured_from)
    restructured_from = np.where((path == DPD90) & recovers, ev + 1, restructured_from)
    later_bankrupt = (path == DPD90) & ~recovers & (rng.random(n) < 0.4)
    bankrupt_month = np.where(path == BANKRUPTCY, ev, np.where(later_bankrupt, ev + rng.integers(3, 11, n), NEVER))
    default_from = np.where(path == DPD90, ev, np.where(path == BANKRUPTCY, ev, NEVER))
    failing = ((path == DPD90) & ~recovers) | (path == BANKRUPTCY)
    stop_month = np.where(path == BANKRUPTCY, ev,
                          np.where(failing, np.minimum(bankrupt_month, ev + rng.integers(6, 16, n)), NEVER))
    request = np.where(failing & pop.guaranteed,
                       ev + np.where(path == BANKRUPTCY, rng.integers(1, 4, n), rng.integers(2, 6, n)), NEVER)
    paid = np.where(request < NEVER, request + rng.integers(1, 4, n), NEVER)
    return Health(h=h, event_month=event_month, onset=onset, path=path, recovers=recovers & has_event,
                  restructured_from=restructured_from, bankrupt_month=bankrupt_month,
                  default_from=default_from, stop_month=stop_month, subrogation_request=request,
                  subrogation_paid=paid, near_miss=near_miss, drift=drift)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
