"""Which prefecture's SME Revitalization Council a referral goes to.

One council per prefecture (`council_<NN>`, yocho/prefectures.py), each a separate intake
that sees only the referrals routed to it (signals/queue/scope.py). A referral goes to the
council of the business's prefecture — the business master's `prefecture_code` as of the
latest night's date, which the nightly flags keep on the case (`cases.prefecture_code`, from
the evidence document). A business without one is routed by its lead institution's
prefecture (an association's follows from its id, a bank's from its registration), and the
case records why (`cases.council_notice`).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from signals.queue.actors import Institution, ensure_institutions
from signals.queue.lifecycle import InvalidInput
from signals.queue.schema import institutions
from yocho.prefectures import cga_prefecture, council_id, council_name, council_prefecture, is_prefecture, prefecture_name


def council_institution(code: int) -> Institution:
    return Institution(council_id(code), "council", council_name(code), code)


def institution_prefecture(conn: Connection, institution_id: str | None) -> int | None:
    """An institution's home prefecture: from the id for an association or a council, from
    its registration for a bank (None when it was registered without one)."""
    if not institution_id:
        return None
    code = cga_prefecture(institution_id) or council_prefecture(institution_id)
    if code is not None:
        return code
    stored = conn.execute(select(institutions.c.prefecture_code).where(institutions.c.id == institution_id)
                          ).scalar_one_or_none()
    return stored if is_prefecture(stored) else None


def route(conn: Connection, row: Any, referring_institution_id: str | None) -> tuple[str, str | None]:
    """(council id, notice) for a referral of the case `row`; registers the council if the
    queue does not know it yet. The notice is None when the business's own prefecture decided."""
    if is_prefecture(row.prefecture_code):
        code, notice = row.prefecture_code, None
    else:
        lead = row.lead_institution_id or referring_institution_id
        code = institution_prefecture(conn, lead)
        if code is None:
            raise InvalidInput(
                "事業者の所在都道府県も主担当機関の都道府県も分からないため、紹介先の協議会を決められません "
                f"(neither the business's prefecture nor that of its lead institution {lead} is known: "
                "register the institution's prefecture)")
        notice = (f"事業者の所在都道府県が登録されていないため、主担当機関（{lead}）の所在地 "
                  f"{prefecture_name(code)} の協議会へ紹介しました "
                  "(the business has no prefecture on record; routed by the lead institution's)")
    ensure_institutions(conn, [council_institution(code)])
    return council_id(code), notice
