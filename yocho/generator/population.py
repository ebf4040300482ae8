"""Who the businesses are: industry, size, place, banks, guarantees, identifiers."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yocho.generator.institutions import OUTSIDE_LENDERS, Institution
from yocho.generator.timeline import Timeline

# JSIC division: (share of SME borrowers, monthly sales per employee in yen, gross
# margin, relative hazard of deterioration). Shares follow the SME census shape:
# construction, manufacturing, wholesale/retail and food service dominate.
INDUSTRIES: dict[str, tuple[float, float, float, float]] = {
    "A": (0.015, 1_100_000, 0.30, 1.0),
    "B": (0.005, 1_400_000, 0.30, 1.2),
    "C": (0.001, 2_500_000, 0.30, 0.8),
    "D": (0.170, 2_000_000, 0.22, 1.2),
    "E": (0.125, 1_900_000, 0.24, 1.0),
    "F": (0.001, 3_000_000, 0.30, 0.5),
    "G": (0.020, 1_500_000, 0.50, 0.9),
    "H": (0.035, 1_300_000, 0.35, 1.2),
    "I": (0.220, 3_000_000, 0.23, 1.0),
    "J": (0.003, 2_000_000, 0.60, 0.7),
    "K": (0.060, 3_200_000, 0.45, 0.7),
    "L": (0.040, 1_200_000, 0.55, 0.7),
    "M": (0.110, 600_000, 0.62, 1.6),
    "N": (0.065, 800_000, 0.55, 1.1),
    "O": (0.020, 500_000, 0.60, 0.8),
    "P": (0.060, 700_000, 0.50, 0.6),
    "Q": (0.001, 1_000_000, 0.50, 0.8),
    "R": (0.045, 900_000, 0.45, 1.0),
    "T": (0.004, 1_000_000, 0.40, 1.0),
}
DIVISIONS = np.array(list(INDUSTRIES))
_SHARE = np.array([v[0] for v in INDUSTRIES.values()]) / sum(v[0] for v in INDUSTRIES.values())
SALES_PER_EMPLOYEE = np.array([v[1] for v in INDUSTRIES.values()], dtype=float)
GROSS_MARGIN = np.array([v[2] for v in INDUSTRIES.values()])
HAZARD = np.array([v[3] for v in INDUSTRIES.values()])

# Monthly sales profile (Jan..Dec). Construction bills at the client's fiscal year end
# (March), retail peaks at year end, inns and restaurants in August and December,
# agriculture at harvest; B2B services mildly in March.
_FLAT_MARCH = [0.95, 0.95, 1.15, 0.95, 0.95, 1.0, 1.0, 0.95, 1.05, 1.0, 1.0, 1.05]
_SEASON = {
    "A": [0.6, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.5, 1.6, 1.3, 0.7],
    "D": [0.85, 0.95, 1.65, 0.75, 0.8, 0.9, 0.95, 0.9, 1.05, 0.95, 1.0, 1.25],
    "I": [0.9, 0.85, 1.0, 0.95, 0.95, 0.95, 1.05, 1.0, 0.95, 0.95, 1.05, 1.4],
    "M": [0.9, 0.8, 1.0, 0.95, 1.05, 0.9, 1.05, 1.25, 0.95, 1.0, 0.95, 1.2],
    "N": [0.95, 0.9, 1.0, 1.0, 1.05, 0.95, 1.05, 1.15, 0.95, 1.0, 0.95, 1.05],
}
SEASON = np.array([_SEASON.get(d, _FLAT_MARCH) for d in DIVISIONS])
SEASON = SEASON / SEASON.mean(axis=1, keepdims=True)

SOLE_SHARE = 0.27


@dataclass
class Population:
    """One chunk of businesses; arrays are indexed by position in the chunk."""
    gid: np.ndarray            # global business index (stable across chunking)
    sole: np.ndarray           # 個人事業主
    division: np.ndarray       # index into DIVISIONS
    prefecture: np.ndarray
    employees: np.ndarray
    founded: np.ndarray
    fye_month: np.ndarray      # fiscal year end month 1-12
    submits: np.ndarray        # sends annual statements at all
    quarterly: np.ndarray      # also sends quarterly trial balances to the main bank
    sales0: np.ndarray         # normal monthly sales, yen
    gross_margin: np.ndarray
    frailty: np.ndarray        # standard normal; higher = weaker
    member: np.ndarray         # (n, banks) bool: has a relationship with the bank
    main_bank: np.ndarray      # bank position of the main bank
    share: np.ndarray          # (n, banks) share of receipts through each bank
    guaranteed: np.ndarray     # has guarantees from the association
    corporate_number: np.ndarray  # int64, 0 for sole proprietors
    hazard: np.ndarray         # monthly hazard of a deterioration event (before shocks)

    @property
    def n(self) -> int:
        return len(self.gid)


def corporate_numbers(gid: np.ndarray) -> np.ndarray:
    """法人番号 for business indices: check digit + 12-digit base, as int64.

    The base mimics 会社法人等番号 (4-digit registry office, 2-digit kind, 6-digit serial),
    taken from a bijection of the index so numbers are unique and look scattered.
    """
    y = (gid.astype(np.int64) * 6_700_417 + 1_234_567_891) % 10**10
    office, serial = y // 10**6, y % 10**6
    kind = np.where(y % 10 < 7, 1, np.where(y % 10 < 9, 2, 3))  # 株式会社, 有限会社, 持分会社
    base = office * 10**8 + kind * 10**6 + serial
    total = np.zeros_like(base)
    rest = base.copy()
    for n in range(1, 13):
        total += (rest % 10) * (1 if n % 2 else 2)
        rest //= 10
    check = 9 - total % 9
    return check * 10**12 + base


def local_numbers(gid: np.ndarray, inst: Institution) -> np.ndarray:
    return (gid.astype(np.int64) * inst.lid_mult + inst.lid_add) % 10**9


def build_population(gid: np.ndarray, n_banks: int, homes: list[int], tl: Timeline,
                     rng: np.random.Generator) -> Population:
    n = len(gid)
    sole = rng.random(n) < SOLE_SHARE
    division = rng.choice(len(DIVISIONS), size=n, p=_SHARE)

    # Most borrowers sit in the banks' home prefectures; a few anywhere in Japan.
    home_w = np.array([0.6 / (i + 1) for i in range(len(homes))])
    pref_choices = np.concatenate([np.array(homes), np.arange(1, 48)])
    pref_w = np.concatenate([home_w / home_w.sum() * 0.85, np.full(47, 0.15 / 47)])
    prefecture = rng.choice(pref_choices, size=n, p=pref_w)

    employees = np.where(
        sole,
        np.where(rng.random(n) < 0.5, 0, rng.geometric(0.45, n)),
        np.clip(np.round(rng.lognormal(2.0, 1.1, n)), 1, 3000),
    ).astype(np.int64)
    end_year = tl.end_month.year
    age = np.where(sole, rng.gamma(2.0, 7.0, n), rng.gamma(2.0, 13.0, n)) + 1
    founded = np.clip(end_year - np.floor(age), 1900, end_year).astype(np.int64)

    # Sole proprietors close their books in December (the tax year); corporations
    # mostly in March, some at other quarter ends.
    corp_fye = rng.choice([3, 12, 9, 6, 5, 8, 1, 2, 4, 7, 10, 11], size=n,
                          p=[0.58, 0.10, 0.07, 0.06, 0.04, 0.03, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02])
    fye_month = np.where(sole, 12, corp_fye)
    submits = rng.random(n) < np.where(sole, 0.6, 0.88)
    quarterly = submits & (rng.random(n) < np.where(employees >= 20, 0.4, 0.12))

    workers = np.maximum(employees, 1) + (~sole)  # the owner works too
    sales0 = SALES_PER_EMPLOYEE[division] * workers * rng.lognormal(0.0, 0.35, n)
    gross_margin = np.clip(GROSS_MARGIN[division] + rng.normal(0, 0.04, n), 0.08, 0.9)
    frailty = rng.normal(0, 1, n)

    # Bank relationships: larger firms deal with more banks; the main bank is usually
    # the one at home in the business's prefecture.
    p_many = np.where((employees > 20)[:, None], [0.25, 0.40, 0.35], [0.55, 0.30, 0.15])
    u = rng.random(n)
    k = np.where(u < p_many[:, 0], 1, np.where(u < p_many[:, 0] + p_many[:, 1], 2, 3))
    k = np.minimum(k, n_banks)
    score = rng.gumbel(size=(n, n_banks)) + 2.5 * (prefecture[:, None] == np.array(homes)[None, :])
    score -= 0.3 * np.arange(n_banks)[None, :]
    order = np.argsort(-score, axis=1, kind="stable")
    rank = np.argsort(order, axis=1, kind="stable")
    member = rank < k[:, None]
    main_bank = order[:, 0]
    raw_share = np.where(member, rng.uniform(0.1, 0.5, (n, n_banks)), 0.0)
    raw_share[np.arange(n), main_bank] = rng.uniform(1.2, 3.0, n)
    share = raw_share / raw_share.sum(axis=1, keepdims=True)

    guaranteed = rng.random(n) < np.where(employees > 50, 0.25, np.where(sole, 0.42, 0.52))

    young = (end_year - founded) < 5
    hazard = (HAZARD[division] * np.where(young, 1.5, 1.0) * np.where(sole, 1.15, 1.0)
              * np.where(employees > 50, 0.6, 1.0) * np.where(guaranteed, 1.2, 1.0)
              * np.exp(0.45 * frailty))
    # Calibrated so that about 2% of businesses a year have a deterioration event.
    hazard = hazard / hazard.mean() * (0.02 / 12) if n else hazard

    return Population(
        gid=gid, sole=sole, division=division, prefecture=prefecture, employees=employees,
        founded=founded, fye_month=fye_month, submits=submits, quarterly=quarterly,
        sales0=sales0, gross_margin=gross_margin, frailty=frailty, member=member,
        main_bank=main_bank, share=share, guaranteed=guaranteed,
        corporate_number=np.where(sole, 0, corporate_numbers(gid)), hazard=hazard,
    )


def outside_lender_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array(OUTSIDE_LENDERS)[rng.integers(0, len(OUTSIDE_LENDERS), n)]
