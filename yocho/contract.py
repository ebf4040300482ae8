"""The data contract: every feed Yocho accepts, declared once.

Ingest parses and validates against these declarations, the generator writes files
that follow them, the warehouse migrations create one raw table per feed with these
columns, and docs/data-contract.md is rendered from them (a test keeps it in sync).

Conventions
- Money is whole yen (JPY, integer). Negative values may arrive as △/▲ or -, with or
  without thousands separators. A yen column's header may state the unit its figures are
  in, in full- or half-width brackets: 売上高（千円）, 売上高(百万円), 総資産[千円],
  sales_jpy (thousand yen); 円, 千円, 百万円, yen, thousand yen or million yen. Those
  figures are converted to yen (decimals allowed, rounded to the nearest yen) before any
  range rule is checked. Without a unit a figure is read as yen: a file in 千円 whose
  headers do not say so loads 1,000 times too small, and nothing in it can tell.
  A unit on a column that is not a yen amount, or an unknown one (売上高（ドル）),
  rejects the file, naming it and the header.
- `received_on` on every feed is the date the row became known to the institution that
  sent it. Point-in-time computations as of T only use rows with received_on <= T.
- Every row names the business by the sending institution's own customer number
  (`local_id`) and, where known, its 法人番号 (`corporate_number`); sole proprietors
  (個人事業主) have no 法人番号. Cross-institution linking uses 法人番号.
- Column headers may be the English names below or the Japanese ones (`ja`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import polars as pl


class Kind(StrEnum):
    TEXT = "text"
    LOCAL_ID = "local_id"
    CORPORATE_NUMBER = "corporate_number"
    BANK_CODE = "bank_code"
    JPY = "jpy"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    MONTH = "month"
    CATEGORY = "category"


# Warehouse (DuckDB) type for each kind. MONTH is stored as the first day of the month.
DUCKDB_TYPE: dict[Kind, str] = {
    Kind.TEXT: "VARCHAR",
    Kind.LOCAL_ID: "VARCHAR",
    Kind.CORPORATE_NUMBER: "VARCHAR",
    Kind.BANK_CODE: "VARCHAR",
    Kind.JPY: "BIGINT",
    Kind.INT: "INTEGER",
    Kind.FLOAT: "DOUBLE",
    Kind.BOOL: "BOOLEAN",
    Kind.DATE: "DATE",
    Kind.MONTH: "DATE",
    Kind.CATEGORY: "VARCHAR",
}


class Source(StrEnum):
    BANK = "bank"
    GUARANTEE_ASSOCIATION = "cga"


@dataclass(frozen=True)
class Column:
    name: str
    ja: str
    kind: Kind
    description: str
    required: bool = True
    min_value: float | None = None
    max_value: float | None = None
    # CATEGORY only: code -> Japanese label. Either may appear in a file; the code is stored.
    categories: dict[str, str] | None = None


@dataclass(frozen=True)
class Feed:
    name: str
    ja: str
    description: str
    sources: tuple[Source, ...]
    # The record a row is a version of, within one institution (institution_id is implied):
    # a loan-month, a statement, an incident report. received_on is never part of it.
    record_key: tuple[str, ...]
    columns: tuple[Column, ...]
    # The date the record is about (a loan's month, a statement's period end), from which a
    # look-back window reaches back; None for the business master, which is about no date.
    time_column: str | None
    # Whether a later delivery may correct a record: the row with the later received_on is
    # loaded as the record's new version, in force from its received_on. When false, a record
    # is sent once and a later row with its key is quarantined as a duplicate.
    correctable: bool = True
    # Whether a row shows the institution still reports on the business (it is monitored and
    # active). Outcome events (the labels) and exits say something happened to it instead.
    activity: bool = True
    # Whether a row is a credit relationship with the institution that sent it: a bank's loan
    # or deposit account, an association's guarantee. Those institutions see the business's
    # case and have exposure in it (signals/sql/institutions.sql); a master row, a statement or
    # an observation is something an institution can send about anyone and never makes one.
    relationship: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def table(self) -> str:
        return f"raw_{self.name}"

    @property
    def key(self) -> tuple[str, ...]:
        """What makes a row unique in the warehouse: the record and, for a correctable feed,
        the delivery date of its version (so one version per record and received_on)."""
        return (*self.record_key, "received_on") if self.correctable else self.record_key

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"feed {self.name!r} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


# --- controlled vocabularies -------------------------------------------------

ENTITY_TYPES = {"corporation": "法人", "sole_proprietor": "個人事業主"}

# 日本標準産業分類 (JSIC Rev.14) divisions.
JSIC_DIVISIONS = {
    "A": "農業，林業",
    "B": "漁業",
    "C": "鉱業，採石業，砂利採取業",
    "D": "建設業",
    "E": "製造業",
    "F": "電気・ガス・熱供給・水道業",
    "G": "情報通信業",
    "H": "運輸業，郵便業",
    "I": "卸売業，小売業",
    "J": "金融業，保険業",
    "K": "不動産業，物品賃貸業",
    "L": "学術研究，専門・技術サービス業",
    "M": "宿泊業，飲食サービス業",
    "N": "生活関連サービス業，娯楽業",
    "O": "教育，学習支援業",
    "P": "医療，福祉",
    "Q": "複合サービス事業",
    "R": "サービス業（他に分類されないもの）",
    "S": "公務（他に分類されるものを除く）",
    "T": "分類不能の産業",
}

GUARANTEE_STATUSES = {
    "normal": "正常",
    "delinquent": "延滞",
    "restructured": "条件変更",
    "subrogated": "代位弁済済",
    "repaid": "完済",
}

INCIDENT_TYPES = {
    "delinquency": "延滞",
    "restructuring_request": "条件変更申込",
    "dishonoured_bill": "不渡り",
    "whereabouts_unknown": "所在不明",
    "legal_filing": "破産等申立",
    "death": "死亡",
    "other": "その他",
}

DEBTOR_CLASSES = {
    "normal": "正常先",
    "watch": "要注意先",
    "special_attention": "要管理先",
    "doubtful": "破綻懸念先",
    "de_facto_bankrupt": "実質破綻先",
    "bankrupt": "破綻先",
}

STATEMENT_TYPES = {"annual": "決算", "quarterly": "試算表"}

OBSERVATION_CODES = {
    "management_unreachable": "経営者と連絡が取れない",
    "key_customer_lost": "主要取引先の喪失",
    "successor_absent": "後継者不在",
    "owner_illness": "経営者の健康問題",
    "staff_leaving": "従業員の退職が続く",
    "refuses_financials": "決算書等の提出拒否",
    "tax_arrears_found": "税金・社会保険料の滞納判明",
    "litigation": "訴訟・係争",
    "disaster": "被災",
    "other": "その他",
}

EVENT_TYPES = {
    "restructuring": "条件変更",
    "dpd90": "延滞90日以上",
    "subrogation": "代位弁済",
    "legal_bankruptcy": "破綻・法的整理",
    "downgrade": "要管理先以下への格下げ",
}

EXIT_TYPES = {
    "repaid": "完済",
    "refinanced_elsewhere": "他行肩代わり",
    "closed": "廃業",
    "transferred": "移管",
    "other": "その他",
}

# --- shared columns ----------------------------------------------------------

LOCAL_ID = Column("local_id", "顧客番号", Kind.LOCAL_ID, "The sending institution's own customer number.")
CORPORATE_NUMBER = Column(
    "corporate_number", "法人番号", Kind.CORPORATE_NUMBER,
    "13-digit 法人番号 with its check digit; empty for sole proprietors.", required=False,
)
RECEIVED_ON = Column("received_on", "受領日", Kind.DATE, "Date the row became known to the sender (point-in-time cut-off).")
MONTH = Column("month", "対象年月", Kind.MONTH, "Calendar month the figures describe (YYYY-MM or 和暦).")
LENDER = Column("lender_bank_code", "金融機関コード", Kind.BANK_CODE, "統一金融機関コード (4 digits) of the lending bank.")


def _jpy(name: str, ja: str, description: str, *, required: bool = True, signed: bool = False) -> Column:
    return Column(name, ja, Kind.JPY, description, required=required,
                  min_value=None if signed else 0, max_value=1e13)


FEEDS: dict[str, Feed] = {}


def _feed(feed: Feed) -> Feed:
    FEEDS[feed.name] = feed
    return feed


_feed(Feed(
    name="business",
    ja="取引先マスタ",
    description="One row per business and version of its master record.",
    sources=(Source.BANK, Source.GUARANTEE_ASSOCIATION),
    record_key=("local_id",),
    time_column=None,
    columns=(
        LOCAL_ID, CORPORATE_NUMBER,
        Column("name", "商号", Kind.TEXT, "Trade name (商号) or the proprietor's business name."),
        Column("entity_type", "法人個人区分", Kind.CATEGORY, "Corporation or sole proprietor.", categories=ENTITY_TYPES),
        Column("jsic_division", "業種大分類", Kind.CATEGORY, "JSIC division letter.", categories=JSIC_DIVISIONS),
        Column("prefecture_code", "都道府県コード", Kind.INT, "JIS X 0401 prefecture code 1-47.", min_value=1, max_value=47),
        Column("employees", "従業員数", Kind.INT, "Number of employees.", required=False, min_value=0, max_value=100000),
        Column("founded_year", "創業年", Kind.INT, "Year of founding (western calendar).", required=False, min_value=1600, max_value=2100),
        RECEIVED_ON,
    ),
    notes=("A sole proprietor row must leave corporate_number empty; a corporation should carry it.",),
))

_feed(Feed(
    name="guarantees",
    ja="保証債務残高",
    description="Monthly balance of each credit guarantee (信用保証) held by the association.",
    sources=(Source.GUARANTEE_ASSOCIATION,),
    record_key=("guarantee_id", "month"),
    time_column="month",
    relationship=True,
    columns=(
        Column("guarantee_id", "保証番号", Kind.TEXT, "The association's guarantee number."),
        LOCAL_ID, CORPORATE_NUMBER, LENDER, MONTH,
        _jpy("balance_jpy", "保証残高", "Guaranteed balance at month end."),
        Column("status", "保証状態", Kind.CATEGORY, "Guarantee status at month end.", categories=GUARANTEE_STATUSES),
        RECEIVED_ON,
    ),
))

_feed(Feed(
    name="incidents",
    ja="事故報告",
    description="Incident reports (事故報告) lenders file with the association.",
    sources=(Source.GUARANTEE_ASSOCIATION,),
    record_key=("incident_id",),
    time_column="occurred_on",
    columns=(
        Column("incident_id", "事故報告番号", Kind.TEXT, "Report number."),
        LOCAL_ID, CORPORATE_NUMBER,
        Column("guarantee_id", "保証番号", Kind.TEXT, "Guarantee concerned.", required=False),
        LENDER,
        Column("incident_type", "事故種別", Kind.CATEGORY, "Kind of incident.", categories=INCIDENT_TYPES),
        Column("occurred_on", "発生日", Kind.DATE, "Date the incident occurred."),
        RECEIVED_ON,
    ),
))

_feed(Feed(
    name="subrogations",
    ja="代位弁済",
    description="Subrogation requests (代位弁済請求) and payments.",
    sources=(Source.GUARANTEE_ASSOCIATION,),
    record_key=("subrogation_id",),
    time_column="requested_on",
    columns=(
        Column("subrogation_id", "代位弁済番号", Kind.TEXT, "Subrogation case number."),
        LOCAL_ID, CORPORATE_NUMBER,
        Column("guarantee_id", "保証番号", Kind.TEXT, "Guarantee concerned."),
        LENDER,
        Column("requested_on", "請求日", Kind.DATE, "Date the lender requested subrogation."),
        Column("paid_on", "代位弁済日", Kind.DATE, "Date the association paid; empty while pending.", required=False),
        _jpy("amount_jpy", "代位弁済額", "Amount requested or paid."),
        RECEIVED_ON,
    ),
))

_feed(Feed(
    name="loans",
    ja="融資明細",
    description="Monthly status of each loan and overdraft line at a bank.",
    sources=(Source.BANK,),
    record_key=("loan_id", "month"),
    time_column="month",
    relationship=True,
    columns=(
        Column("loan_id", "融資番号", Kind.TEXT, "The bank's loan or facility number."),
        LOCAL_ID, CORPORATE_NUMBER, MONTH,
        _jpy("balance_jpy", "残高", "Outstanding balance at month end."),
        _jpy("scheduled_jpy", "約定返済額", "Repayment due in the month."),
        _jpy("paid_jpy", "返済額", "Repayment received in the month."),
        Column("days_past_due", "延滞日数", Kind.INT, "Days past due at month end.", min_value=0, max_value=3650),
        Column("restructured", "条件変更", Kind.BOOL, "Terms changed (条件変更/リスケ) and in force."),
        Column("guaranteed", "保証付", Kind.BOOL, "Covered by a credit guarantee.", required=False),
        _jpy("overdraft_limit_jpy", "当座貸越極度額", "Overdraft limit; 0 where none.", required=False),
        _jpy("overdraft_used_jpy", "当座貸越利用額", "Overdraft drawn at month end.", required=False),
        RECEIVED_ON,
    ),
))

_feed(Feed(
    name="accounts",
    ja="預金口座月次集計",
    description="Monthly aggregates of the business's deposit accounts at a bank.",
    sources=(Source.BANK,),
    record_key=("local_id", "month"),
    time_column="month",
    relationship=True,
    columns=(
        LOCAL_ID, CORPORATE_NUMBER, MONTH,
        _jpy("inflow_jpy", "入金額", "Total credits (mostly sales receipts)."),
        _jpy("outflow_jpy", "出金額", "Total debits."),
        _jpy("month_end_balance_jpy", "月末残高", "Balance at month end.", signed=True),
        _jpy("average_balance_jpy", "平均残高", "Average daily balance.", signed=True),
        _jpy("payroll_jpy", "給与振込額", "Payroll paid from the account.", required=False),
        _jpy("tax_paid_jpy", "納税額", "Tax payments made.", required=False),
        _jpy("social_insurance_paid_jpy", "社会保険料納付額", "Social-insurance payments made.", required=False),
        Column("failed_debits", "振替不能件数", Kind.INT, "Direct debits that failed (振替不能).", min_value=0, max_value=1000),
        RECEIVED_ON,
    ),
))

_feed(Feed(
    name="classifications",
    ja="債務者区分",
    description="The bank's internal debtor classification (債務者区分) each time it is set.",
    sources=(Source.BANK,),
    record_key=("local_id", "classified_on"),
    time_column="classified_on",
    columns=(
        LOCAL_ID, CORPORATE_NUMBER,
        Column("classified_on", "判定日", Kind.DATE, "Date of the classification decision."),
        Column("debtor_class", "債務者区分", Kind.CATEGORY, "Classification.", categories=DEBTOR_CLASSES),
        RECEIVED_ON,
    ),
))

_FIN_FIELDS = (
    ("sales_jpy", "売上高", False),
    ("gross_profit_jpy", "売上総利益", True),
    ("operating_profit_jpy", "営業利益", True),
    ("ordinary_profit_jpy", "経常利益", True),
    ("net_income_jpy", "当期純利益", True),
    ("depreciation_jpy", "減価償却費", False),
    ("interest_expense_jpy", "支払利息", False),
    ("total_assets_jpy", "総資産", False),
    ("current_assets_jpy", "流動資産", False),
    ("cash_jpy", "現預金", False),
    ("receivables_jpy", "売上債権", False),
    ("inventory_jpy", "棚卸資産", False),
    ("current_liabilities_jpy", "流動負債", False),
    ("short_term_borrowings_jpy", "短期借入金", False),
    ("long_term_borrowings_jpy", "長期借入金", False),
    ("total_liabilities_jpy", "負債合計", False),
    ("net_assets_jpy", "純資産", True),
    # every 貸借対照表 shows it; negative (繰越欠損) after years of losses
    ("retained_earnings_jpy", "利益剰余金", True),
)

_feed(Feed(
    name="financials",
    ja="財務諸表",
    description="Annual statements (決算) and quarterly trial balances (試算表); figures cumulative from period_start.",
    sources=(Source.BANK, Source.GUARANTEE_ASSOCIATION),
    record_key=("local_id", "statement_type", "period_end"),
    time_column="period_end",
    columns=(
        LOCAL_ID, CORPORATE_NUMBER,
        Column("statement_type", "決算区分", Kind.CATEGORY, "Annual or quarterly.", categories=STATEMENT_TYPES),
        Column("period_start", "期首", Kind.DATE, "First day of the period."),
        Column("period_end", "期末", Kind.DATE, "Last day of the period."),
        *(_jpy(n, ja, f"{ja}.", required=n == "sales_jpy", signed=signed) for n, ja, signed in _FIN_FIELDS),
        RECEIVED_ON,
    ),
    notes=(
        "Statements arrive months after period_end; received_on records when.",
        "Amounts in 千円 or 百万円: state the unit in each header (売上高（千円）, 総資産[百万円], "
        "sales_jpy (million yen)); the figures are converted to yen, decimals rounded to the nearest yen "
        "(1,077.4 百万円 = 1,077,400,000). Without a unit every figure is read as yen: a statement in 千円 "
        "sent with bare headers loads 1,000 times too small, and ingest cannot tell. An unknown unit "
        "(売上高（ドル）) rejects the file, naming the header.",
        "A negative figure where none can be (the rule column says ≥ 0: sales, total or current assets, "
        "borrowings ...): the statement's row is quarantined with file, row, column, reason (below minimum 0) "
        "and the text sent, and none of that statement's other figures load. The statements already loaded "
        "stay the latest on file until a corrected row arrives with a later received_on. The file's other "
        "rows load, unless more than `ingest.max_reject_ratio` of its rows fail and the file is rejected whole.",
        "An optional column missing from the file (no 流動資産, say): those figures are unknown (empty), not "
        "zero, and indicators that need them are unavailable for those statements; the other figures load.",
        "A required column missing (sales_jpy 売上高, or any other marked required below): the file is "
        "rejected whole and none of its rows load; the reason names the file and the column.",
    ),
))

_feed(Feed(
    name="observations",
    ja="定性情報",
    description="Qualitative observations recorded by relationship managers.",
    sources=(Source.BANK, Source.GUARANTEE_ASSOCIATION),
    record_key=("observation_id",),
    time_column="observed_on",
    columns=(
        Column("observation_id", "記録番号", Kind.TEXT, "Record number."),
        LOCAL_ID, CORPORATE_NUMBER,
        Column("observed_on", "確認日", Kind.DATE, "Date observed."),
        Column("code", "区分", Kind.CATEGORY, "Controlled vocabulary.", categories=OBSERVATION_CODES),
        Column("note", "所見", Kind.TEXT, "Free text.", required=False),
        RECEIVED_ON,
    ),
))

_feed(Feed(
    name="events",
    ja="事象",
    description="Outcome events used as labels: what actually happened to the business.",
    sources=(Source.BANK, Source.GUARANTEE_ASSOCIATION),
    record_key=("event_id",),
    time_column="occurred_on",
    activity=False,
    columns=(
        Column("event_id", "事象番号", Kind.TEXT, "Event number."),
        LOCAL_ID, CORPORATE_NUMBER,
        Column("event_type", "事象種別", Kind.CATEGORY, "Kind of event.", categories=EVENT_TYPES),
        Column("occurred_on", "発生日", Kind.DATE, "Date the event occurred."),
        RECEIVED_ON,
    ),
))

_feed(Feed(
    name="exits",
    ja="取引終了",
    description="A business leaving the sending institution's portfolio (repaid, refinanced elsewhere, closed ...).",
    sources=(Source.BANK, Source.GUARANTEE_ASSOCIATION),
    record_key=("local_id", "exited_on"),
    time_column="exited_on",
    activity=False,
    columns=(
        LOCAL_ID, CORPORATE_NUMBER,
        Column("exit_type", "終了事由", Kind.CATEGORY, "Why the relationship ended.", categories=EXIT_TYPES),
        Column("exited_on", "終了日", Kind.DATE, "Date the business left the institution's portfolio."),
        RECEIVED_ON,
    ),
    notes=(
        "Monitored universe (features/pit.py): as of T a business is monitored while some institution that sent "
        "rows about it has no exit in force, i.e. none with exited_on ≤ T and received_on ≤ T that is at least "
        "as late (received_on) as that institution's last other row received by T. Rows received after an exit "
        "bring the business back. Independently, a business with no row received within "
        "`features.inactive_after_months` (default 15) months before T is no longer monitored.",
        "An exit is not activity: exits and outcome events alone never put a business in the universe.",
    ),
))

# Lineage columns every raw table carries after load.
LINEAGE_COLUMNS = (
    ("institution_id", "VARCHAR"),
    ("source_sha256", "VARCHAR"),
    ("source_row", "INTEGER"),
)


def header_aliases(feed: Feed) -> dict[str, str]:
    """Map every accepted header spelling (English or Japanese) to the column name."""
    aliases: dict[str, str] = {}
    for col in feed.columns:
        aliases[col.name] = col.name
        aliases[col.ja] = col.name
    return aliases


def corporate_number_check_digit(base12: str) -> int:
    """Check digit of a 法人番号 from its 12-digit base number (国税庁の計算式).

    check = 9 - (sum over n=1..12 of P_n * Q_n) mod 9, where P_n is the n-th digit
    counted from the right of the base and Q_n is 1 for odd n and 2 for even n.
    """
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base12), start=1))
    return 9 - total % 9


def is_valid_corporate_number(value: str) -> bool:
    return (
        len(value) == 13 and value.isascii() and value.isdigit()
        and int(value[0]) == corporate_number_check_digit(value[1:])
    )


def valid_corporate_numbers(values: pl.Series) -> pl.Series:
    """`is_valid_corporate_number` for a whole column at once (a null is not valid): the
    check digit computed column-wise, as the ingest checks every distinct number of a file."""
    text = values.cast(pl.Utf8)
    frame = pl.DataFrame({"v": text})
    digit = [pl.col("v").str.slice(i, 1).cast(pl.Int32, strict=False) for i in range(13)]
    # base digit j (value position j + 1) is the (12 - j)-th from the right: weight 1 if odd, else 2
    total = pl.sum_horizontal([digit[j + 1] * (1 if (12 - j) % 2 else 2) for j in range(12)])
    valid = pl.col("v").str.contains(r"^[0-9]{13}$") & (digit[0] == 9 - total % 9)
    return frame.select(valid.fill_null(False).alias(values.name)).to_series()


# --- institutions --------------------------------------------------------------
# Landing folders are named by institution: bank_<統一金融機関コード> or cga_<NN>,
# NN being the JIS prefecture code (01-47) or 48-51 for the four city associations.

CGA_CITIES = {48: "横浜市", 49: "川崎市", 50: "名古屋市", 51: "岐阜市"}


def institution_source(institution_id: str) -> Source:
    prefix, _, code = institution_id.partition("_")
    if prefix == "bank" and len(code) == 4 and code.isdigit():
        return Source.BANK
    if prefix == "cga" and len(code) == 2 and code.isdigit() and 1 <= int(code) <= 51:
        return Source.GUARANTEE_ASSOCIATION
    raise ValueError(
        f"institution folder {institution_id!r} is not bank_<4-digit bank code> or cga_<01-51>"
    )
