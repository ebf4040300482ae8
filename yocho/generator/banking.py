"""What the banks see month by month: sales receipts, deposit balances, loans and arrears.

All of it is driven by latent health. The months are looped (balances and arrears carry
over), every business, account and loan within a month is vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from yocho.generator.health import BANKRUPTCY, DPD90, NEVER, Health, sigmoid
from yocho.generator.institutions import OUTSIDE_LENDERS
from yocho.generator.population import SEASON, Population, outside_lender_codes
from yocho.generator.timeline import Timeline


@dataclass
class Relationships:
    """One row per (business, bank) relationship."""
    biz: np.ndarray
    bank: np.ndarray           # bank position
    is_main: np.ndarray

    @property
    def n(self) -> int:
        return len(self.biz)


@dataclass
class Loans:
    biz: np.ndarray
    rel: np.ndarray            # relationship index, -1 for loans from outside lenders
    bank: np.ndarray           # bank position, -1 for outside lenders
    outside_code: np.ndarray   # lender code for outside lenders, "" otherwise
    seq: np.ndarray            # 0 = overdraft line, 1.. term loans
    overdraft: np.ndarray
    guaranteed: np.ndarray
    coverage: np.ndarray       # share of the loan the association guarantees
    limit: np.ndarray          # overdraft limit, 0 for term loans
    balance: np.ndarray        # (L, T) month-end balance
    scheduled: np.ndarray
    paid: np.ndarray
    dpd: np.ndarray
    restructured: np.ndarray
    active: np.ndarray         # (L, T) a row is reported for the month
    start: np.ndarray          # month the loan was drawn: 0 for those running from before the window

    @property
    def n(self) -> int:
        return len(self.biz)


@dataclass
class Accounts:
    inflow: np.ndarray         # (R, T)
    outflow: np.ndarray
    balance: np.ndarray
    average: np.ndarray
    payroll: np.ndarray
    tax: np.ndarray
    social: np.ndarray
    failed: np.ndarray
    active: np.ndarray


def relationships(pop: Population) -> Relationships:
    biz, bank = np.nonzero(pop.member)
    return Relationships(biz=biz, bank=bank, is_main=bank == pop.main_bank[biz])


def monthly_sales(pop: Population, health: Health, tl: Timeline, rng: np.random.Generator) -> np.ndarray:
    season = SEASON[pop.division][:, tl.calendar_month(np.arange(tl.T)) - 1]
    noise = rng.lognormal(0.0, 0.07, (pop.n, tl.T))
    sales = pop.sales0[:, None] * season * np.exp(0.3 * np.minimum(health.h, 1.0)) * noise
    t = np.arange(tl.T)[None, :]
    # A business that has stopped trading only collects stragglers.
    return np.where(t > health.stop_month[:, None], sales * 0.02, sales)


# Businesses that take a guaranteed loan from a lender they did not borrow from before (an
# outside 信用金庫, seen by the association only): a share of those whose health starts to
# decline towards an event (their banks will not lend more, so they go elsewhere, 借入先の分散)
# and, as ordinary diversification, a few healthy ones a year.
NEW_LENDER_SHARE_DECLINING = 0.2
NEW_LENDER_PER_YEAR_OTHERS = 0.004


def build_loans(pop: Population, health: Health, rels: Relationships, tl: Timeline,
                rng: np.random.Generator, lender_rng: np.random.Generator | None = None) -> Loans:
    """Every loan's months. `lender_rng` draws the loans from new lenders (`added_loans`);
    its own stream, so adding them left every bank's rows of a seed as they were. None: none."""
    n, T = pop.n, tl.T
    corp = ~pop.sole[rels.biz]
    n_term = 1 + rng.binomial(2, 0.25, rels.n)
    has_od = rng.random(rels.n) < np.where(corp, 0.30, 0.10)

    term_rel = np.repeat(np.arange(rels.n), n_term)
    term_seq = np.arange(len(term_rel)) - np.repeat(np.cumsum(n_term) - n_term, n_term) + 1
    od_rel = np.nonzero(has_od)[0]
    # The association also guarantees loans from lenders outside the portfolio.
    out_biz = np.nonzero(pop.guaranteed & (rng.random(n) < 0.2))[0]

    rel = np.concatenate([term_rel, od_rel, np.full(len(out_biz), -1)])
    biz = np.concatenate([rels.biz[term_rel], rels.biz[od_rel], out_biz])
    bank = np.concatenate([rels.bank[term_rel], rels.bank[od_rel], np.full(len(out_biz), -1)])
    seq = np.concatenate([term_seq, np.zeros(len(od_rel), int), np.ones(len(out_biz), int)])
    overdraft = seq == 0
    L = len(rel)
    outside_code = np.where(rel < 0, outside_lender_codes(rng, L), "")

    # Borrowings of 15-80% of annual sales, split by how much business each bank has.
    debt = pop.sales0 * 12 * rng.uniform(0.15, 0.8, n)
    weight = np.where(rel >= 0, pop.share[biz, np.maximum(bank, 0)], 0.4) * rng.uniform(0.5, 1.5, L)
    weight = np.where(overdraft, 0.0, weight)
    totals = np.bincount(biz, weights=weight, minlength=n)
    principal = np.round(debt[biz] * weight / np.maximum(totals[biz], 1e-9), -3)
    # The first loan at each bank runs beyond the window, so every lender sees the end.
    term = np.where(seq == 1, rng.integers(T + 6, T + 120, L), rng.integers(12, 120, L))
    sched = np.where(overdraft, 0, np.ceil(principal / term / 1000) * 1000)
    limit = np.where(overdraft, np.round(pop.sales0[biz] * pop.share[biz, np.maximum(bank, 0)]
                                         * rng.uniform(0.5, 1.5, L), -5).clip(1_000_000), 0)
    od_base = rng.beta(2, 5, L)

    guar_biz = pop.guaranteed[biz]
    is_main = (rel >= 0) & (bank == pop.main_bank[biz])
    guaranteed = guar_biz & ~overdraft & ((rel < 0) | ((seq == 1) & is_main) | (rng.random(L) < 0.35))
    coverage = np.where(guaranteed, np.where(rng.random(L) < 0.7, 0.8, 1.0), 0.0)

    restr_factor = np.where(rng.random(n) < 0.5, 0.0, 0.3)
    due_day = rng.integers(1, 30, L)
    shared_u = rng.random((n, T))  # one borrower misses all its payments together
    loans = Loans(biz=biz, rel=rel, bank=bank, outside_code=outside_code, seq=seq, overdraft=overdraft,
                  guaranteed=guaranteed, coverage=coverage, limit=limit.astype(np.int64),
                  start=np.zeros(L, np.int64),
                  **_months(health, biz, overdraft, guaranteed, principal, sched, limit, od_base, due_day,
                            restr_factor, np.zeros(L, np.int64), shared_u, T, rng))
    if lender_rng is None:
        return loans
    return _concat(loans, added_loans(pop, health, loans, restr_factor, shared_u, tl, lender_rng))


def added_loans(pop: Population, health: Health, loans: Loans, restr_factor: np.ndarray, shared_u: np.ndarray,
                tl: Timeline, rng: np.random.Generator) -> Loans:
    """Guaranteed loans from a lender new to the business, drawn in the window: for
    `NEW_LENDER_SHARE_DECLINING` of the association's borrowers heading for an event, in the
    decline's middle stretch (after it began, before the event); for the others at
    `NEW_LENDER_PER_YEAR_OTHERS` a year, any month. The lender is an outside one the business
    had no loan from."""
    n, T, P = pop.n, tl.T, tl.pre
    declining = pop.guaranteed & (health.onset < NEVER)
    span = np.maximum(health.event_month - health.onset, 1)
    when_declining = health.onset + np.round(rng.uniform(0.3, 0.9, n) * span).astype(np.int64)
    takes = declining & (rng.random(n) < NEW_LENDER_SHARE_DECLINING) & (when_declining < health.event_month)
    others = pop.guaranteed & ~declining & (rng.random(n) < NEW_LENDER_PER_YEAR_OTHERS * (T - P) / 12)
    start = np.where(takes, when_declining, rng.integers(P, T, n))
    chosen = np.nonzero((takes | others) & (start >= 1) & (start < T))[0]
    k = len(chosen)
    # another outside lender than the one (if any) the business already borrows from
    lenders = np.sort(np.array(OUTSIDE_LENDERS))
    had = np.full(n, -1)  # position in `lenders` of the business's outside lender, -1: none
    out = loans.rel < 0
    had[loans.biz[out]] = np.searchsorted(lenders, loans.outside_code[out])
    other = (had[chosen] + 1 + rng.integers(0, len(lenders) - 1, k)) % len(lenders)
    code = lenders[np.where(had[chosen] >= 0, other, rng.integers(0, len(lenders), k))]
    # 保証付融資 of 5-20% of a year's sales over 5-10 years
    principal = np.maximum(np.round(pop.sales0[chosen] * 12 * rng.uniform(0.05, 0.2, k), -6), 1_000_000)
    sched = np.ceil(principal / rng.integers(60, 121, k) / 1000) * 1000
    none, no = np.zeros(k), np.zeros(k, bool)
    return Loans(biz=chosen, rel=np.full(k, -1), bank=np.full(k, -1), outside_code=code,
                 seq=np.ones(k, np.int64), overdraft=no, guaranteed=~no,
                 coverage=np.where(rng.random(k) < 0.7, 0.8, 1.0), limit=np.zeros(k, np.int64), start=start[chosen],
                 **_months(health, chosen, no, ~no, principal, sched, none, none, rng.integers(1, 30, k),
                           restr_factor, start[chosen], shared_u, T, rng))


def _concat(a: Loans, b: Loans) -> Loans:
    return Loans(**{f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in a.__dataclass_fields__})


def _months(health: Health, biz: np.ndarray, overdraft: np.ndarray, guaranteed: np.ndarray, principal: np.ndarray,
            sched: np.ndarray, limit: np.ndarray, od_base: np.ndarray, due_day: np.ndarray,
            restr_factor: np.ndarray, start: np.ndarray, shared_u: np.ndarray, T: int,
            rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Balances, payments and arrears month by month of loans drawn in month `start`."""
    L = len(biz)
    restr_factor = restr_factor[biz]
    ev, path = health.event_month[biz], health.path[biz]
    failing = ((path == DPD90) & ~health.recovers[biz]) | (path == BANKRUPTCY)
    paid_month = np.where(guaranteed, health.subrogation_paid[biz], NEVER)
    restr_from = health.restructured_from[biz]
    default_from = health.default_from[biz]
    stop = health.stop_month[biz]
    distress = health.distress

    balance = np.zeros((L, T), np.int64)
    scheduled = np.zeros((L, T), np.int64)
    paid = np.zeros((L, T), np.int64)
    dpd = np.zeros((L, T), np.int64)
    restructured = np.zeros((L, T), bool)
    active = np.zeros((L, T), bool)
    bal = np.zeros(L, np.int64)
    count = np.zeros(L, np.int64)
    for t in range(T):
        bal = np.where(t == start, principal.astype(np.int64), bal)
        d = distress[biz, t]
        was_open = bal > 0
        restr = t >= restr_from
        count = np.where(t == restr_from, 0, count)  # arrears capitalised into the new terms
        due = np.where(overdraft, 0, np.minimum(np.where(restr, sched * restr_factor, sched), bal)).astype(np.int64)
        p_miss = 0.003 + 0.97 * sigmoid(4 * (d - 1.6))
        miss = (shared_u[biz, t] < p_miss) | (rng.random(L) < 0.001)
        forced = (((path == DPD90) & (t >= ev - 3) & (t <= ev)) | (failing & (t > ev)) | (t > stop))
        miss = ((miss & (due > 0)) | forced) & ~overdraft & was_open
        allow90 = t >= default_from
        new_count = np.where(miss, np.where(allow90, count + 1, np.minimum(count + 1, 3)), count)
        cure = ~miss & (count > 0) & (rng.random(L) < 0.85 * sigmoid(4 * (1.2 - d)))
        pay = np.where(miss, 0, np.where(cure, due * (count + 1), due))
        pay = np.minimum(pay, bal)
        new_count = np.where(cure, 0, new_count)
        bal = bal - pay
        # Subrogation pays the guaranteed loan off from the association's side.
        subrogated = t >= paid_month
        bal = np.where(subrogated, 0, bal)
        count = np.where(subrogated | (bal == 0), 0, new_count)
        # Overdrafts: usage climbs towards the limit as cash runs short; frozen when failing.
        used = np.clip(od_base + 0.35 * d + rng.normal(0, 0.05, L), 0, 1)
        used = np.where(failing & (t >= ev), 1.0, used)
        od_used = np.round(limit * used, -3).astype(np.int64)
        balance[:, t] = np.where(overdraft, od_used, bal)
        bal = np.where(overdraft, 0, bal)
        scheduled[:, t] = due
        paid[:, t] = np.where(overdraft, 0, pay)
        dpd[:, t] = np.where(count > 0, np.minimum(30 * (count - 1) + due_day, 3650), 0)
        restructured[:, t] = restr & ~overdraft
        active[:, t] = (overdraft & (t <= stop + 12)) | (~overdraft & was_open & (t <= paid_month))
    return {"balance": balance, "scheduled": scheduled, "paid": paid, "dpd": dpd, "restructured": restructured,
            "active": active}


def build_accounts(pop: Population, health: Health, rels: Relationships, loans: Loans,
                   sales: np.ndarray, tl: Timeline, rng: np.random.Generator) -> Accounts:
    R, T = rels.n, tl.T
    b = rels.biz
    # Whole yen throughout, so inflow - outflow is exactly the change in balance.
    inflow = np.round(sales[b] * pop.share[b, rels.bank][:, None] * rng.lognormal(0, 0.08, (R, T)))
    d = health.distress[b]
    h = health.h[b]
    t = np.arange(T)[None, :]
    stop = health.stop_month[b][:, None]
    alive = t <= stop

    # Payroll, withholding tax and social insurance go through the main bank.
    cal = tl.calendar_month(np.arange(T))[None, :]
    wage = rng.uniform(220_000, 380_000, R)[:, None]
    bonus = np.where(np.isin(cal, (6, 12)) & ~pop.sole[b][:, None], 1.8, 1.0)
    staff = pop.employees[b][:, None] * np.exp(0.25 * np.minimum(h, 0))
    payroll = np.where(rels.is_main[:, None] & alive, staff * wage * bonus, 0.0)
    # Late payroll: the month is skipped and paid with the next one.
    late = (rng.random((R, T)) < 0.002 + 0.5 * sigmoid(3 * (d - 1.5))) & (payroll > 0)
    carried = np.concatenate([np.zeros((R, 1)), np.where(late, payroll, 0)[:, :-1]], axis=1)
    payroll = np.where(late, 0.0, payroll) + carried
    prev_payroll = np.concatenate([payroll[:, :1], payroll[:, :-1]], axis=1)

    pays_tax = rng.random((R, T)) > sigmoid(3.5 * (d - 1.2))
    fye = pop.fye_month[b][:, None]
    tax_month = np.where(pop.sole[b][:, None], 3, (fye + 1) % 12 + 1)
    annual_tax = pop.sales0[b][:, None] * 12 * np.where(pop.sole[b], 0.015, 0.025)[:, None]
    tax = 0.04 * prev_payroll + np.where(cal == tax_month, annual_tax * np.exp(0.3 * np.minimum(h, 0.5)), 0)
    tax = np.where(rels.is_main[:, None] & alive & pays_tax, tax, 0.0)
    pays_si = rng.random((R, T)) > sigmoid(3.5 * (d - 1.1))
    social = np.where(rels.is_main[:, None] & alive & pays_si, 0.15 * prev_payroll, 0.0)

    repay = np.zeros((R, T))
    own = loans.rel >= 0
    np.add.at(repay, loans.rel[own], loans.paid[own].astype(float))

    base = (pop.sales0[b] * pop.share[b, rels.bank])
    b0 = base * rng.uniform(0.6, 2.5, R)
    target = b0[:, None] * np.maximum(0.01, 1 + 0.42 * np.minimum(h, 0.6)) * rng.lognormal(0, 0.12, (R, T))
    payroll, tax, social = np.round(payroll), np.round(tax), np.round(social)
    target = np.round(target)
    b0 = np.round(b0)
    fixed = payroll + tax + social + repay
    outflow = np.zeros((R, T))
    balance = np.zeros((R, T))
    short = np.zeros((R, T), bool)
    prev = b0.copy()
    for m in range(T):
        want = np.maximum(inflow[:, m] + prev - target[:, m], fixed[:, m])
        available = prev + inflow[:, m]
        short[:, m] = want > available
        out = np.minimum(want, available)
        outflow[:, m] = out
        prev = available - out
        balance[:, m] = prev
    average = 0.5 * (np.concatenate([b0[:, None], balance[:, :-1]], axis=1) + balance) * rng.uniform(0.9, 1.1, (R, T))

    lam = np.where(rels.is_main[:, None], 0.01 + 1.2 * sigmoid(3 * (d - 1.7)), 0.005 + 0.4 * sigmoid(3 * (d - 1.7)))
    failed = np.minimum(rng.poisson(lam) + short, 1000)
    active = t <= stop + 2
    return Accounts(inflow=inflow, outflow=outflow, balance=balance, average=np.round(average),
                    payroll=payroll, tax=tax, social=social, failed=failed, active=active)
