"""Turning one chunk's simulated world into the rows each institution would send.

Every builder returns canonical frames: the contract's English column names, native types
(Date, Int64, Boolean, category codes) and a `_fy` column (the Japanese fiscal year the
row is filed under). formats.py turns them into what each institution actually writes.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from yocho.contract import FEEDS, Source
from yocho.generator.banking import Accounts, Loans, Relationships
from yocho.generator.health import (
    BANKRUPTCY,
    DOWNGRADE,
    DPD90,
    NEVER,
    RESTRUCTURING,
    Health,
    sigmoid,
)
from yocho.generator.institutions import Institution
from yocho.generator.names import business_names, observation_notes
from yocho.generator.population import DIVISIONS, Population, local_numbers
from yocho.generator.timeline import Timeline, fiscal_year

FY = "_fy"
# Share of monthly rows a sender simply leaves out of an extract.
MISSING_ROW_SHARE = 0.02
LATE_ROW_SHARE = 0.01
CORRECTION_SHARE = 0.002

DEBTOR_ORDER = ["normal", "watch", "special_attention", "doubtful", "de_facto_bankrupt", "bankrupt"]
_NOISE_CODES = (["successor_absent", "owner_illness", "disaster", "other", "staff_leaving", "key_customer_lost",
                 "litigation"], [0.3, 0.15, 0.05, 0.25, 0.1, 0.1, 0.05])
# Businesses with no outcome event leave: a bank relationship ends (paid off early, taken
# over by another lender, moved to another branch) or the business closes (廃業) and every
# institution drops it. Yearly rates; Japan sees about 1.5% of SMEs close (休廃業) a year.
CLOSURE_PER_YEAR = 0.015
RELATIONSHIP_END_PER_YEAR = {"main": 0.01, "other": 0.04}
_RELATIONSHIP_END_TYPES = (["repaid", "refinanced_elsewhere", "transferred"], [0.55, 0.4, 0.05])
_DISTRESS_CODES = (["management_unreachable", "key_customer_lost", "refuses_financials", "tax_arrears_found",
                    "staff_leaving", "litigation", "owner_illness", "other"],
                   [0.2, 0.2, 0.15, 0.2, 0.1, 0.05, 0.05, 0.05])


@dataclass
class World:
    pop: Population
    health: Health
    rels: Relationships
    loans: Loans
    accounts: Accounts
    sales: np.ndarray
    tl: Timeline
    insts: list[Institution]
    batch_lag: np.ndarray      # (institutions, T) days after month end a monthly extract arrives
    rng: np.random.Generator
    # Draws the exits (who leaves, when, why). Separate from `rng` so adding exits left every
    # other row of a seed as it was; None: nobody leaves.
    exit_rng: np.random.Generator | None = None
    # Draws the rows of the loans from new lenders (Loans.start > 0), for the same reason.
    lender_rng: np.random.Generator | None = None

    @property
    def banks(self) -> list[Institution]:
        return [i for i in self.insts if i.is_bank]

    @property
    def cga(self) -> Institution:
        return next(i for i in self.insts if i.source is Source.GUARANTEE_ASSOCIATION)


def local_id_series(inst: Institution, gid: np.ndarray) -> pl.Series:
    """Each institution's own customer-number style."""
    num = pl.Series(local_numbers(gid, inst))
    if inst.source is Source.GUARANTEE_ASSOCIATION:
        return num.cast(pl.Utf8).str.zfill(9).alias("local_id")
    if inst.fmt == "cp932_ja":  # 店番-口座番号
        frame = pl.DataFrame({"n": num})
        return frame.select(pl.format("{}-{}", (pl.col("n") // 10**7 + 100).cast(pl.Utf8),
                                      (pl.col("n") % 10**7).cast(pl.Utf8).str.zfill(7))).to_series().alias("local_id")
    if inst.fmt == "parquet":
        return ("C" + num.cast(pl.Utf8).str.zfill(9)).alias("local_id")
    return num.cast(pl.Utf8).str.zfill(10).alias("local_id")


def _dates(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype("datetime64[D]"))


class Builder:
    def __init__(self, world: World):
        self.w = world
        gid = world.pop.gid
        self.local_ids = {i.id: local_id_series(i, gid) for i in world.insts}
        cn = world.pop.corporate_number
        self.corporate = pl.Series("corporate_number", cn).cast(pl.Utf8).str.zfill(13)
        self.corporate = pl.select(pl.when(pl.lit(pl.Series(cn)) > 0).then(pl.lit(self.corporate))).to_series()
        self.rng = world.rng
        self._exit_plan: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None

    # --- helpers -------------------------------------------------------------

    def ids(self, inst: Institution, biz: np.ndarray) -> dict[str, pl.Series]:
        return {"local_id": self.local_ids[inst.id].gather(biz),
                "corporate_number": self.corporate.gather(biz).alias("corporate_number")}

    def cutoff_filter(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Rows not yet received at the extract date are not in the files."""
        return frame.filter(pl.col("received_on") <= pl.lit(self.w.tl.cutoff.astype("datetime64[D]").item()))

    def monthly_received(self, inst: Institution, t: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        tl, rng = self.w.tl, rng or self.rng
        lag = self.w.batch_lag[inst.index, t]
        late = rng.random(len(t)) < LATE_ROW_SHARE
        lag = lag + np.where(late, rng.integers(15, 46, len(t)), 0)
        return tl.month_end(t) + lag.astype("timedelta64[D]")

    def keep_rows(self, mask: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """(entity, month) pairs of a monthly feed inside the window, minus the ones a
        sender drops from its extract."""
        P = self.w.tl.pre
        ent, t = np.nonzero(mask[:, P:])
        t = t + P
        keep = (rng or self.rng).random(len(ent)) >= MISSING_ROW_SHARE
        # Month-major, as monthly extracts are appended.
        order = np.lexsort((ent[keep], t[keep]))
        return ent[keep][order], t[keep][order]

    def with_corrections(self, frame: pl.DataFrame, amount_cols: list[str]) -> pl.DataFrame:
        """A few rows sent again later with corrected figures (same key, later received_on)."""
        pick = self.rng.random(frame.height) < CORRECTION_SHARE
        if not pick.any():
            return frame
        fixes = frame.filter(pl.Series(pick))
        later = self.rng.integers(20, 60, fixes.height)
        factor = self.rng.uniform(0.9, 1.1, fixes.height)
        fixes = fixes.with_columns(
            (pl.col("received_on") + pl.duration(days=pl.Series(later))).alias("received_on"),
            *((pl.col(c).cast(pl.Float64) * pl.Series(factor)).round(0).cast(pl.Int64).alias(c) for c in amount_cols),
        )
        return pl.concat([frame, fixes])

    # --- feeds ---------------------------------------------------------------

    def business(self, inst: Institution) -> pl.DataFrame:
        w, tl, pop, rng = self.w, self.w.tl, self.w.pop, self.rng
        members = self.members(inst)
        n = len(members)
        first = tl.window_start + np.timedelta64(int(w.batch_lag[inst.index, tl.pre - 1]), "D")
        # Another institution files a few businesses under a neighbouring industry.
        division = pop.division[members].copy()
        if inst.index != 0:
            wrong = rng.random(n) < 0.02
            division = np.where(wrong, rng.integers(0, len(DIVISIONS), n), division)
        base = pl.DataFrame({
            **self.ids(inst, members),
            "name": business_names(pop, members),
            "entity_type": np.where(pop.sole[members], "sole_proprietor", "corporation"),
            "jsic_division": DIVISIONS[division],
            "prefecture_code": pop.prefecture[members].astype(np.int64),
            "employees": pl.Series(pop.employees[members]).set(pl.Series(rng.random(n) < 0.06), None),
            "founded_year": pl.Series(pop.founded[members]).set(pl.Series(rng.random(n) < 0.1), None),
            "received_on": _dates(np.full(n, first)),
        })
        # Master updates: headcount revised once in a while.
        upd = rng.random(n) < 0.25 * tl.months / 12
        t = rng.integers(tl.pre + 1, tl.T, n)
        day = rng.integers(1, 29, n)
        staff = np.round(pop.employees[members] * np.exp(0.2 * np.minimum(self.w.health.h[members, t], 0.3)))
        updates = base.filter(pl.Series(upd)).with_columns(
            pl.Series("employees", staff[upd].astype(np.int64)),
            _dates(tl.on_day(t[upd], day[upd])).alias("received_on"),
        )
        frame = pl.concat([base, updates])
        return self.cutoff_filter(frame).with_columns(_fy_of("received_on"))

    def members(self, inst: Institution) -> np.ndarray:
        if inst.is_bank:
            return np.nonzero(self.w.pop.member[:, inst.index])[0]
        return np.nonzero(self.w.pop.guaranteed)[0]

    def loans(self, inst: Institution) -> pl.DataFrame:
        L = self.w.loans
        mine = L.bank == inst.index
        idx = np.nonzero(mine)[0]
        ent, t = self.keep_rows(L.active[idx])
        li = idx[ent]
        biz = L.biz[li]
        local = self.local_ids[inst.id].gather(biz)
        od = L.overdraft[li]
        frame = pl.DataFrame({
            "loan_id": local + "-" + pl.Series(L.seq[li]).cast(pl.Utf8).str.zfill(2),
            **self.ids(inst, biz),
            "month": _dates(self.w.tl.month_start(t)),
            "balance_jpy": L.balance[li, t],
            "scheduled_jpy": L.scheduled[li, t],
            "paid_jpy": L.paid[li, t],
            "days_past_due": L.dpd[li, t],
            "restructured": L.restructured[li, t],
            "guaranteed": L.guaranteed[li],
            "overdraft_limit_jpy": L.limit[li],
            "overdraft_used_jpy": np.where(od, L.balance[li, t], 0),
            "received_on": _dates(self.monthly_received(inst, t)),
        })
        frame = self.with_corrections(frame, ["paid_jpy"])
        return self.cutoff_filter(frame).with_columns(_fy_of("month"))

    def accounts(self, inst: Institution) -> pl.DataFrame:
        R, A, pop = self.w.rels, self.w.accounts, self.w.pop
        idx = np.nonzero(R.bank == inst.index)[0]
        ent, t = self.keep_rows(A.active[idx])
        ri = idx[ent]
        biz = R.biz[ri]
        # Sole proprietors with few staff are outside the employees' social insurance.
        no_si = pop.sole[biz] & (pop.employees[biz] < 5)
        frame = pl.DataFrame({
            **self.ids(inst, biz),
            "month": _dates(self.w.tl.month_start(t)),
            "inflow_jpy": A.inflow[ri, t].astype(np.int64),
            "outflow_jpy": A.outflow[ri, t].astype(np.int64),
            "month_end_balance_jpy": A.balance[ri, t].astype(np.int64),
            "average_balance_jpy": A.average[ri, t].astype(np.int64),
            "payroll_jpy": A.payroll[ri, t].astype(np.int64),
            "tax_paid_jpy": A.tax[ri, t].astype(np.int64),
            "social_insurance_paid_jpy": pl.Series(A.social[ri, t].astype(np.int64)).set(pl.Series(no_si), None),
            "failed_debits": A.failed[ri, t].astype(np.int64),
            "received_on": _dates(self.monthly_received(inst, t)),
        })
        frame = self.with_corrections(frame, ["inflow_jpy"])
        return self.cutoff_filter(frame).with_columns(_fy_of("month"))

    def guarantee_ids(self) -> tuple[np.ndarray, pl.Series]:
        """Guaranteed loans and the association's guarantee number for each: a business's
        loans drawn in the window numbered after those it had, which keep their numbers."""
        L = self.w.loans
        g = np.nonzero(L.guaranteed)[0]
        order = g[np.lexsort((L.seq[g], L.bank[g], L.start[g], L.biz[g]))]
        biz = L.biz[order]
        starts = np.r_[0, np.nonzero(np.diff(biz))[0] + 1]
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        num = pl.Series(local_numbers(self.w.pop.gid[biz], self.w.cga))
        gid = "HS" + num.cast(pl.Utf8).str.zfill(9) + "-" + pl.Series(rank + 1).cast(pl.Utf8).str.zfill(2)
        return order, gid

    def streams(self, loans: np.ndarray) -> list[tuple[np.ndarray, np.random.Generator]]:
        """Which of `loans` draw from which stream: (positions in `loans`, generator). The
        loans from new lenders (drawn in the window) have their own, so adding them left
        every other row of a seed as it was."""
        added = self.w.loans.start[loans] > 0
        parts = [(np.nonzero(~added)[0], self.rng)]
        if added.any():
            parts.append((np.nonzero(added)[0], self.w.lender_rng))
        return parts

    def lender_codes(self, loans: np.ndarray) -> np.ndarray:
        L = self.w.loans
        codes = np.array([b.code for b in self.w.banks])
        return np.where(L.bank[loans] >= 0, codes[np.maximum(L.bank[loans], 0)], L.outside_code[loans])

    def guarantees(self, inst: Institution) -> pl.DataFrame:
        L, H = self.w.loans, self.w.health
        order, gids = self.guarantee_ids()
        frames = []
        for part, rng in self.streams(order):
            ent, t = self.keep_rows(L.active[order[part]], rng)
            ent = part[ent]
            li = order[ent]
            biz = L.biz[li]
            bal = np.round(L.balance[li, t] * L.coverage[li]).astype(np.int64)
            status = np.select(
                [t >= H.subrogation_paid[biz], L.balance[li, t] == 0, L.restructured[li, t], L.dpd[li, t] >= 30],
                ["subrogated", "repaid", "restructured", "delinquent"], "normal")
            frames.append(pl.DataFrame({
                "guarantee_id": gids.gather(ent),
                **self.ids(inst, biz),
                "lender_bank_code": self.lender_codes(li),
                "month": _dates(self.w.tl.month_start(t)),
                "balance_jpy": np.where(status == "subrogated", 0, bal),
                "status": status,
                "received_on": _dates(self.monthly_received(inst, t, rng)),
            }))
        # month-major, as monthly extracts are appended
        frame = pl.concat(frames).sort("month", maintain_order=True)
        return self.cutoff_filter(frame).with_columns(_fy_of("month"))

    def incidents(self, inst: Institution) -> pl.DataFrame:
        L, H, pop, tl, rng = self.w.loans, self.w.health, self.w.pop, self.w.tl, self.rng
        P, T = tl.pre, tl.T
        order, gids = self.guarantee_ids()
        parts: list[tuple[np.ndarray, np.ndarray, str]] = []  # (guarantee position, month, type)
        # Delinquency: first month a guaranteed loan is 60+ days past due.
        late = L.dpd[order][:, P:] >= 60
        has = late.any(axis=1)
        parts.append((np.nonzero(has)[0], late.argmax(axis=1)[has] + P, "delinquency"))
        # A restructuring request precedes the 条件変更 by a month.
        rf = H.restructured_from[L.biz[order]] - 1
        ok = (rf >= P) & (rf < T)
        parts.append((np.nonzero(ok)[0], rf[ok], "restructuring_request"))
        # Business-level incidents go on the business's first guarantee.
        first = np.r_[True, np.diff(L.biz[order]) != 0]
        fpos = np.nonzero(first)[0]
        fb = L.biz[order][fpos]
        ev, path = H.event_month[fb], H.path[fb]
        failing = ((path == DPD90) & ~H.recovers[fb]) | (path == BANKRUPTCY)
        for mask, month, kind in (
            (failing & (rng.random(len(fb)) < 0.15), ev - 1, "dishonoured_bill"),
            (np.ones(len(fb), bool), H.bankrupt_month[fb], "legal_filing"),
            (failing & (H.bankrupt_month[fb] == NEVER) & (rng.random(len(fb)) < 0.15), H.stop_month[fb], "whereabouts_unknown"),
        ):
            ok = mask & (month >= P) & (month < T)
            parts.append((fpos[ok], month[ok], kind))
        # Rare incidents unrelated to health: a proprietor's death, other.
        for kind, rate, who in (("death", 0.004 / 12, pop.sole[fb]), ("other", 0.004 / 12, np.ones(len(fb), bool))):
            hit = (rng.random((len(fb), T - P)) < rate) & who[:, None]
            has = hit.any(axis=1)
            parts.append((fpos[has], hit.argmax(axis=1)[has] + P, kind))
        pos = np.concatenate([p for p, _, _ in parts]).astype(np.int64)
        month = np.concatenate([m for _, m, _ in parts]).astype(np.int64)
        kind = np.concatenate([np.full(len(p), k) for p, _, k in parts])
        li = order[pos]
        biz = L.biz[li]
        day, lag = np.zeros(len(pos), np.int64), np.zeros(len(pos), np.int64)
        for part, stream in self.streams(li):
            day[part] = stream.integers(1, 29, len(part))
            lag[part] = stream.integers(5, 41, len(part))
        occurred = tl.on_day(month, day)
        received = occurred + lag.astype("timedelta64[D]")
        kind_no = pl.Series(kind).replace_strict(
            {k: str(i) for i, k in enumerate(["delinquency", "restructuring_request", "dishonoured_bill",
                                               "legal_filing", "whereabouts_unknown", "death", "other"])})
        frame = pl.DataFrame({
            "incident_id": "J" + gids.gather(pos) + "-" + kind_no + pl.Series(month).cast(pl.Utf8).str.zfill(3),
            **self.ids(inst, biz),
            "guarantee_id": gids.gather(pos),
            "lender_bank_code": self.lender_codes(li),
            "incident_type": kind,
            "occurred_on": _dates(occurred),
            "received_on": _dates(received),
        }).sort("occurred_on", "incident_id")
        return self.cutoff_filter(frame).with_columns(_fy_of("occurred_on"))

    def subrogations(self, inst: Institution) -> pl.DataFrame:
        L, H, tl = self.w.loans, self.w.health, self.w.tl
        order, gids = self.guarantee_ids()
        biz = L.biz[order]
        req = H.subrogation_request[biz]
        ok = (req >= tl.pre) & (req < tl.T)
        pos = np.nonzero(ok)[0]
        li, r = order[pos], req[pos]
        amount = np.round(L.balance[li, np.minimum(r, tl.T - 1)] * L.coverage[li] * 1.01).astype(np.int64)
        asked, paid, lag = (np.zeros(len(pos), np.int64) for _ in range(3))
        for part, stream in self.streams(li):
            asked[part] = stream.integers(1, 29, len(part))
            paid[part] = stream.integers(1, 29, len(part))
            lag[part] = stream.integers(3, 11, len(part))
        requested = tl.on_day(r, asked)
        q = H.subrogation_paid[biz[pos]]
        paid_on = tl.on_day(np.minimum(q, tl.T - 1), paid)
        cutoff = tl.cutoff.astype("datetime64[D]")
        is_paid = (q < tl.T) & (paid_on <= cutoff - np.timedelta64(10, "D"))
        known = np.where(is_paid, paid_on, requested) + lag.astype("timedelta64[D]")
        frame = pl.DataFrame({
            "subrogation_id": "D" + gids.gather(pos),
            **self.ids(inst, L.biz[li]),
            "guarantee_id": gids.gather(pos),
            "lender_bank_code": self.lender_codes(li),
            "requested_on": _dates(requested),
            "paid_on": _dates(paid_on).set(pl.Series(~is_paid), None),
            "amount_jpy": amount,
            "received_on": _dates(known),
        }).filter(pl.col("amount_jpy") > 0).sort("requested_on", "subrogation_id")
        return self.cutoff_filter(frame).with_columns(_fy_of("requested_on"))

    def debtor_classes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Classification rows for all relationships: (rel, month, day, class index).

        Semi-annual self-assessment (March and September) for everyone, plus a decision
        at each turn of an event. Before its first event a business is at worst 要注意先,
        so a downgrade to 要管理先 or below is itself the event.
        """
        R, H, tl, rng = self.w.rels, self.w.health, self.w.tl, self.rng
        P, T = tl.pre, tl.T
        t = np.arange(T)[None, :]
        b = R.biz
        h = H.h[b]
        E = H.event_month[b][:, None]
        path = H.path[b][:, None]
        rec = H.recovers[b][:, None]
        threshold = -0.9 + rng.normal(0, 0.15, R.n)[:, None]
        cls = np.where(h <= threshold, 1, 0)
        after = t >= E
        settled = rec & (t >= E + 12) & (h > -0.6)
        restr_like = np.where(settled, 1, np.where(h < -2.2, 3, 2))
        dpd_like = np.where(rec & (t >= E + 12), 2, np.where(~rec & (t >= E + 6), 4, 3))
        ev_cls = np.select([path == RESTRUCTURING, path == DOWNGRADE, path == DPD90, path == BANKRUPTCY],
                           [np.where(settled, 1, 2), restr_like, dpd_like, 5], 0)
        cls = np.where(after, ev_cls, cls)
        cls = np.where(t >= H.bankrupt_month[b][:, None], 5, cls)
        exists = t <= H.stop_month[b][:, None] + 12
        cal = tl.calendar_month(np.arange(T))[None, :]
        review = np.isin(cal, (3, 9)) & exists & (t >= P)
        r1, t1 = np.nonzero(review)
        day1 = tl.month_end(t1).astype("datetime64[D]") - tl.month_start(t1).astype("datetime64[D]") + 1
        # Decisions at the event, six months after a failing one, and at bankruptcy.
        turns = []
        for month in (H.event_month[b], np.where(H.path[b] == DPD90, H.event_month[b] + 6, NEVER), H.bankrupt_month[b]):
            ok = (month >= P) & (month < T)
            turns.append((np.nonzero(ok)[0], month[ok]))
        r2 = np.concatenate([r for r, _ in turns])
        t2 = np.concatenate([m for _, m in turns])
        day2 = rng.integers(5, 26, len(r2))
        rel = np.concatenate([r1, r2])
        month = np.concatenate([t1, t2])
        day = np.concatenate([day1.astype(np.int64), day2])
        return rel, month, day, cls[rel, month]

    def classifications(self, inst: Institution, rows) -> pl.DataFrame:
        rel, month, day, cls = rows
        R, tl, rng = self.w.rels, self.w.tl, self.rng
        mine = R.bank[rel] == inst.index
        rel, month, day, cls = rel[mine], month[mine], day[mine], cls[mine]
        on = tl.month_start(month) + (day - 1).astype("timedelta64[D]")
        frame = pl.DataFrame({
            **self.ids(inst, R.biz[rel]),
            "classified_on": _dates(on),
            "debtor_class": np.array(DEBTOR_ORDER)[cls],
            "received_on": _dates(on + rng.integers(3, 16, len(rel)).astype("timedelta64[D]")),
        }).unique(subset=["local_id", "classified_on"], keep="first", maintain_order=True).sort("classified_on", "local_id")
        return self.cutoff_filter(frame).with_columns(_fy_of("classified_on"))

    def statements(self) -> pl.DataFrame:
        """Every statement the businesses prepare (annual and quarterly), figures only."""
        pop, H, tl, rng, L = self.w.pop, self.w.health, self.w.tl, self.rng, self.w.loans
        T = tl.T
        cal = tl.calendar_month(np.arange(T))
        b_a, t_a = np.nonzero(cal[None, :] == pop.fye_month[:, None])
        keep = t_a >= 11
        b_a, t_a = b_a[keep], t_a[keep]
        # Quarterly trial balances: cumulative from the start of the fiscal year.
        qb, qt, qk = [], [], []
        for k in (3, 6, 9):
            e = t_a + k
            ok = pop.quarterly[b_a] & (e < T)
            qb.append(b_a[ok])
            qt.append(e[ok])
            qk.append(np.full(ok.sum(), k))
        biz = np.concatenate([b_a, *qb])
        end = np.concatenate([t_a, *qt])
        months = np.concatenate([np.full(len(b_a), 12), *qk])
        start = end - months + 1
        annual = months == 12
        d_end = H.distress[biz, np.minimum(end + 3, T - 1)]
        alive = H.stop_month[biz] >= end + 2
        refuses = (d_end > 1.4) & (rng.random(len(biz)) < 0.6)
        sent = pop.submits[biz] & alive & ~refuses
        biz, end, months, start, annual = biz[sent], end[sent], months[sent], start[sent], annual[sent]
        n = len(biz)

        csum = np.concatenate([np.zeros((pop.n, 1)), np.cumsum(self.w.sales, axis=1)], axis=1)
        sales = np.round(csum[biz, end + 1] - csum[biz, start])
        h_avg = H.h[biz, end]
        s0 = pop.sales0[biz]
        gm = np.clip(pop.gross_margin[biz] * (1 + 0.08 * np.minimum(h_avg, 0.5)), 0.05, 0.95)
        gross = np.round(sales * gm)
        om = rng.uniform(0.01, 0.06, n)
        sga = np.round(s0 * np.maximum(pop.gross_margin[biz] - om, 0.02) * months)
        operating = gross - sga

        # Balance sheet at period end, tied to what the banks hold.
        R, A = self.w.rels, self.w.accounts
        acct = np.zeros((pop.n, T))
        np.add.at(acct, R.biz, A.balance)
        cash = np.round(acct[biz, end] * rng.uniform(1.0, 1.3, n))
        div = pop.division[biz]
        inv_m = np.where(np.isin(DIVISIONS[div], ["E", "I"]), 1.0, np.where(DIVISIONS[div] == "D", 0.5, 0.15))
        receivables = np.round(self.w.sales[biz, end] * np.where(np.isin(DIVISIONS[div], ["M", "N", "P"]), 0.2, 1.3)
                               * rng.uniform(0.7, 1.3, n))
        inventory = np.round(s0 * inv_m * rng.uniform(0.5, 1.5, n))
        other_ca = np.round(s0 * 0.1)
        current_assets = cash + receivables + inventory + other_ca
        fa_ratio = np.select([DIVISIONS[div] == "K", DIVISIONS[div] == "M", DIVISIONS[div] == "E"], [1.5, 0.6, 0.4], 0.25)
        fixed = np.round(s0 * 12 * fa_ratio * rng.uniform(0.6, 1.4, n))
        term = np.zeros((pop.n, T))
        od = np.zeros((pop.n, T))
        np.add.at(term, L.biz[~L.overdraft], L.balance[~L.overdraft].astype(float))
        np.add.at(od, L.biz[L.overdraft], L.balance[L.overdraft].astype(float))
        extra = np.where(rng.random(pop.n) < 0.4, rng.uniform(0.1, 0.5, pop.n), 0.0)[biz]
        short_b = np.round((od[biz, end] + 0.25 * term[biz, end]) * (1 + extra))
        long_b = np.round(0.75 * term[biz, end] * (1 + extra))
        payables = np.round(self.w.sales[biz, end] * (1 - gm) * rng.uniform(0.5, 1.5, n))
        other_cl = np.round(s0 * 0.4)
        current_liab = short_b + payables + other_cl
        total_liab = current_liab + long_b + np.round(s0 * 0.3)
        equity = s0 * 12 * (rng.uniform(0.02, 0.35, n) + 0.08 * np.minimum(h_avg, 0.5))
        other_fixed = np.round(np.maximum(0, total_liab + equity - current_assets - fixed))
        total_assets = current_assets + fixed + other_fixed
        interest = np.round((short_b + long_b) * 0.015 * months / 12)
        depreciation = np.round(fixed * 0.08 * months / 12)
        ordinary = operating - interest + np.round(sales * 0.003)
        net = ordinary - np.round(np.maximum(ordinary, 0) * 0.3) - np.round(70_000 * months / 12)

        def i64(x):
            return np.asarray(x).astype(np.int64)

        return pl.DataFrame({
            "_biz": biz, "_end": end,
            "statement_type": np.where(annual, "annual", "quarterly"),
            "period_start": _dates(tl.month_start(start)),
            "period_end": _dates(tl.month_end(end)),
            "sales_jpy": i64(sales), "gross_profit_jpy": i64(gross), "operating_profit_jpy": i64(operating),
            "ordinary_profit_jpy": i64(ordinary), "net_income_jpy": i64(net), "depreciation_jpy": i64(depreciation),
            "interest_expense_jpy": i64(interest), "total_assets_jpy": i64(total_assets),
            "current_assets_jpy": i64(current_assets), "cash_jpy": i64(cash), "receivables_jpy": i64(receivables),
            "inventory_jpy": i64(inventory), "current_liabilities_jpy": i64(current_liab),
            "short_term_borrowings_jpy": i64(short_b), "long_term_borrowings_jpy": i64(long_b),
            "total_liabilities_jpy": i64(total_liab), "net_assets_jpy": i64(total_assets - total_liab),
            # net assets less paid-in capital (資本金, a small fixed share of the business's size)
            "retained_earnings_jpy": i64(total_assets - total_liab - np.round(s0 * 12 * 0.03)),
        })

    def financials(self, inst: Institution, statements: pl.DataFrame) -> pl.DataFrame:
        pop, rng = self.w.pop, self.rng
        biz = statements["_biz"].to_numpy()
        annual = (statements["statement_type"] == "annual").to_numpy()
        if inst.is_bank:
            member = pop.member[biz, inst.index]
            main = pop.main_bank[biz] == inst.index
            gets = member & np.where(main, True, annual & (rng.random(len(biz)) < 0.7))
        else:
            gets = pop.guaranteed[biz] & annual & (rng.random(len(biz)) < 0.6)
        mine = statements.filter(pl.Series(gets))
        b = biz[gets]
        lag = np.where(annual[gets], rng.integers(55, 181, len(b)), rng.integers(30, 63, len(b)))
        frame = pl.DataFrame(self.ids(inst, b)).hstack(mine.drop("_biz", "_end")).with_columns(
            (pl.col("period_end") + pl.duration(days=pl.Series(lag))).alias("received_on"))
        cols = FEEDS["financials"].column_names
        return self.cutoff_filter(frame.select(cols).sort("received_on", "local_id")).with_columns(_fy_of("period_end"))

    def observations(self, inst: Institution) -> pl.DataFrame:
        w, H, tl, rng = self.w, self.w.health, self.w.tl, self.rng
        P, T = tl.pre, tl.T
        if inst.is_bank:
            R = w.rels
            ent = np.nonzero(R.bank == inst.index)[0]
            biz = R.biz[ent]
            scale = 1.0
        else:
            biz = np.nonzero(w.pop.guaranteed)[0]
            scale = 0.5
        d = H.distress[biz][:, P:]
        alive = np.arange(P, T)[None, :] <= H.stop_month[biz][:, None] + 1
        p = scale * (0.001 + 0.12 * sigmoid(3 * (d - 1.3)))
        e, t = np.nonzero((rng.random(d.shape) < p) & alive)
        b = biz[e]
        t = t + P
        distressed = H.distress[b, t] > 0.8
        noise_code = rng.choice(_NOISE_CODES[0], size=len(b), p=_NOISE_CODES[1])
        bad_code = rng.choice(_DISTRESS_CODES[0], size=len(b), p=_DISTRESS_CODES[1])
        code = np.where(distressed, bad_code, noise_code)
        observed = tl.on_day(t, rng.integers(1, 29, len(b)))
        local = self.local_ids[inst.id].gather(b)
        frame = pl.DataFrame({
            "observation_id": "OB" + local + "-" + pl.Series(t).cast(pl.Utf8).str.zfill(3),
            **self.ids(inst, b),
            "observed_on": _dates(observed),
            "code": code,
            "note": observation_notes(code, rng),
            "received_on": _dates(observed + rng.integers(0, 15, len(b)).astype("timedelta64[D]")),
        }).sort("observed_on", "observation_id")
        return self.cutoff_filter(frame).with_columns(_fy_of("observed_on"))

    def events(self, inst: Institution, class_rows) -> pl.DataFrame:
        w, H, tl, rng, pop = self.w, self.w.health, self.w.tl, self.rng, self.w.pop
        P, T = tl.pre, tl.T
        members = self.members(inst)
        parts: list[tuple[np.ndarray, np.ndarray, str]] = []

        def within(biz, month, kind):
            ok = (month >= P) & (month < T)
            parts.append((biz[ok], month[ok], kind))

        within(members, H.restructured_from[members], "restructuring")
        within(members, H.bankrupt_month[members], "legal_bankruptcy")
        if inst.is_bank:
            L = w.loans
            mine = np.nonzero(L.bank == inst.index)[0]
            over = L.dpd[mine] >= 90
            first = np.where(over.any(axis=1), over.argmax(axis=1), NEVER)
            per_biz = np.full(pop.n, NEVER)
            np.minimum.at(per_biz, L.biz[mine], first)
            within(members, per_biz[members], "dpd90")
            rel, month, _, cls = class_rows
            R = w.rels
            bad = (R.bank[rel] == inst.index) & (cls >= 2)
            first_bad = np.full(pop.n, NEVER)
            np.minimum.at(first_bad, R.biz[rel[bad]], month[bad])
            within(members, first_bad[members], "downgrade")
        else:
            within(members, H.subrogation_paid[members], "subrogation")
        biz = np.concatenate([b for b, _, _ in parts]).astype(np.int64)
        month = np.concatenate([m for _, m, _ in parts]).astype(np.int64)
        kind = np.concatenate([np.full(len(b), k) for b, _, k in parts])
        occurred = tl.on_day(month, rng.integers(1, 29, len(biz)))
        local = self.local_ids[inst.id].gather(biz)
        kind_no = pl.Series(kind).replace_strict({k: str(i) for i, k in enumerate(
            ["restructuring", "dpd90", "subrogation", "legal_bankruptcy", "downgrade"])})
        frame = pl.DataFrame({
            "event_id": "EV" + local + "-" + kind_no + pl.Series(month).cast(pl.Utf8).str.zfill(3),
            **self.ids(inst, biz),
            "event_type": kind,
            "occurred_on": _dates(occurred),
            "received_on": _dates(occurred + rng.integers(3, 31, len(biz)).astype("timedelta64[D]")),
        }).sort("occurred_on", "event_id")
        return self.cutoff_filter(frame).with_columns(_fy_of("occurred_on"))

    # --- leaving the portfolio ---------------------------------------------------

    def exit_plan(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """institution id -> (business, exited_on, received_on, exit_type) of every exit.

        Only businesses that never reach an outcome event leave (a bank keeps a defaulted
        borrower in workout). A closure ends every relationship and the association's
        guarantees in the month it happens; otherwise a bank relationship ends on its own,
        but only one without guaranteed loans (the association's rows stay consistent).
        An institution reports the exit with that month's extract and sends nothing about
        the business after it (`after_exits`)."""
        if self._exit_plan is not None:
            return self._exit_plan
        w, pop, H, R, L, tl = self.w, self.w.pop, self.w.health, self.w.rels, self.w.loans, self.w.tl
        P, T = tl.pre, tl.T
        plan: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        rng = w.exit_rng
        if rng is None:
            none = (np.zeros(0, np.int64), np.zeros(0, "datetime64[D]"), np.zeros(0, "datetime64[D]"),
                    np.zeros(0, "<U20"))
            self._exit_plan = {i.id: none for i in w.insts}
            return self._exit_plan
        quiet = H.event_month == NEVER
        closes = _first_month(rng.random((pop.n, T - P)) < CLOSURE_PER_YEAR / 12, P)
        closes = np.where(quiet, closes, NEVER)
        rate = np.where(R.is_main, RELATIONSHIP_END_PER_YEAR["main"], RELATIONSHIP_END_PER_YEAR["other"])
        ends = _first_month(rng.random((R.n, T - P)) < rate[:, None] / 12, P)
        guaranteed_rel = np.bincount(L.rel[(L.rel >= 0) & L.guaranteed], minlength=R.n) > 0
        ends = np.where(quiet[R.biz] & ~guaranteed_rel, ends, NEVER)
        end_type = rng.choice(_RELATIONSHIP_END_TYPES[0], size=R.n, p=_RELATIONSHIP_END_TYPES[1])
        day = rng.integers(1, 29, pop.n)
        rel_day = rng.integers(1, 29, R.n)
        for inst in w.insts:
            if inst.is_bank:
                rel = np.nonzero(R.bank == inst.index)[0]
                biz = R.biz[rel]
                closed = closes[biz] <= ends[rel]
                month = np.minimum(closes[biz], ends[rel])
                kind = np.where(closed, "closed", end_type[rel])
                on_day = np.where(closed, day[biz], rel_day[rel])
            else:
                biz = np.nonzero(pop.guaranteed)[0]
                month = closes[biz]
                kind = np.full(len(biz), "closed")
                on_day = day[biz]
            left = month < T
            biz, month, kind, on_day = biz[left], month[left], kind[left], on_day[left]
            exited = tl.on_day(month, on_day)
            received = tl.month_end(month) + w.batch_lag[inst.index, month].astype("timedelta64[D]")
            plan[inst.id] = (biz, exited, received, kind)
        self._exit_plan = plan
        return plan

    def exits(self, inst: Institution) -> pl.DataFrame:
        biz, exited, received, kind = self.exit_plan()[inst.id]
        frame = pl.DataFrame({
            **self.ids(inst, biz),
            "exit_type": pl.Series(kind, dtype=pl.Utf8),
            "exited_on": _dates(exited),
            "received_on": _dates(received),
        }).sort("exited_on", "local_id")
        return self.cutoff_filter(frame).with_columns(_fy_of("exited_on"))

    def after_exits(self, inst: Institution, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame without the rows the institution would have sent after reporting the
        business's exit (later months, late rows, corrections, statements)."""
        biz, _, received, _ = self.exit_plan()[inst.id]
        if not len(biz):
            return frame
        until = pl.col("local_id").replace_strict(
            self.local_ids[inst.id].gather(biz), _dates(received), default=None, return_dtype=pl.Date)
        return frame.filter(until.is_null() | (pl.col("received_on") <= until))


def _first_month(hit: np.ndarray, offset: int) -> np.ndarray:
    """Month index of each row's first hit (columns counted from `offset`), NEVER if none."""
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + offset, NEVER)


def _fy_of(column: str) -> pl.Expr:
    date = pl.col(column)
    return (date.dt.year() - (date.dt.month() < 4).cast(pl.Int32)).alias(FY)


def build_feeds(world: World) -> Iterator[tuple[Institution, str, pl.DataFrame]]:
    """(institution, feed, canonical frame) for every feed each institution sends.

    Yielded one at a time so the writer can free each frame before the next is built.
    """
    b = Builder(world)
    class_rows = b.debtor_classes()
    statements = b.statements()
    for inst in world.insts:
        kept = b.after_exits
        yield inst, "business", kept(inst, b.business(inst))
        if inst.is_bank:
            yield inst, "loans", kept(inst, b.loans(inst))
            yield inst, "accounts", kept(inst, b.accounts(inst))
            yield inst, "classifications", kept(inst, b.classifications(inst, class_rows))
        else:
            yield inst, "guarantees", kept(inst, b.guarantees(inst))
            yield inst, "incidents", kept(inst, b.incidents(inst))
            yield inst, "subrogations", kept(inst, b.subrogations(inst))
        yield inst, "financials", kept(inst, b.financials(inst, statements))
        yield inst, "observations", kept(inst, b.observations(inst))
        yield inst, "events", kept(inst, b.events(inst, class_rows))
        yield inst, "exits", b.exits(inst)


# fiscal_year is re-exported for the writer's file naming of numpy dates.
__all__ = ["World", "build_feeds", "fiscal_year", "FY"]
