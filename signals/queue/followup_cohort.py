"""The two groups the "did it work?" comparison follows (signals/followup.py), as the queue
knows them: one row per business with its flag date and its recommended phase and risk band
at flag time (the opening night's snapshot), and for a referred business the day its plan
was agreed (金融機関調整成立, the council's stage log).

- referred: businesses with a plan agreed on a referral the acting user can see (`_scope`);
- comparison: businesses the nightly flags opened a case for that was never referred, and
  that were never referred in any other case, within the user's scope. Council intake has
  none: a council reads a business only through its owner's recorded consent, and averages
  over unreferred businesses would still be read without one. Its page says the comparison
  is the institutions' and the administrator's.
"""
from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, and_, false, func, literal, select, union_all

from signals.queue.actors import User
from signals.queue.lifecycle import Role
from signals.queue.schema import OWNER_INSTITUTIONS, cases, evidence_snapshots, support_stages
from signals.queue.scope import _scope
from signals.queue.stage_terms import Stage

COHORT_SCHEMA = {"business_key": pl.String, "grp": pl.String, "flagged_on": pl.Date, "phase": pl.String,
                 "band": pl.String, "plan_agreed_on": pl.Date}


def _comparison_scope(actor: User):  # noqa: ANN202 (a SQL condition)
    # no consent, no council read: not even in a group figure
    return false() if actor.role is Role.COUNCIL_INTAKE else _scope(actor)


def cohort(conn: Connection, actor: User) -> pl.DataFrame:
    """The referred and the comparison businesses, one row each (the first case of each)."""
    initial = (select(evidence_snapshots.c.case_id, evidence_snapshots.c.phase, evidence_snapshots.c.band)
               .where(evidence_snapshots.c.kind == "initial").subquery("initial"))
    plan = (select(support_stages.c.case_id, func.min(support_stages.c.stage_on).label("agreed_on"))
            .where(support_stages.c.stage == Stage.PLAN_AGREED.value).group_by(support_stages.c.case_id)
            .subquery("plan"))
    phase = func.coalesce(initial.c.phase, cases.c.phase, "")
    band = func.coalesce(initial.c.band, cases.c.band, "")
    referred = (select(cases.c.business_key, literal("referred").label("grp"),
                       func.coalesce(cases.c.flagged_on, cases.c.referred_on).label("flagged_on"),
                       phase.label("phase"), band.label("band"), plan.c.agreed_on.label("plan_agreed_on"))
                .select_from(cases.join(plan, plan.c.case_id == cases.c.id)
                             .outerjoin(initial, initial.c.case_id == cases.c.id))
                .where(_scope(actor)))
    ever_referred = select(cases.c.business_key).where(cases.c.referred_on.is_not(None))
    comparison = (select(cases.c.business_key, literal("comparison").label("grp"), cases.c.flagged_on,
                         phase.label("phase"), band.label("band"), literal(None).label("plan_agreed_on"))
                  .select_from(cases.outerjoin(initial, initial.c.case_id == cases.c.id))
                  .where(and_(cases.c.owner == OWNER_INSTITUTIONS, cases.c.flagged_on.is_not(None),
                              cases.c.business_key.not_in(ever_referred), _comparison_scope(actor))))
    both = union_all(referred, comparison).subquery("both")
    ranked = select(both, func.row_number().over(partition_by=(both.c.grp, both.c.business_key),
                                                 order_by=both.c.flagged_on).label("rn")).subquery("ranked")
    rows = conn.execute(select(*(ranked.c[name] for name in COHORT_SCHEMA)).where(ranked.c.rn == 1)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=COHORT_SCHEMA, orient="row")
