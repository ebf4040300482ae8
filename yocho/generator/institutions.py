"""The institutions of a generated portfolio and how each one sends its files."""
from __future__ import annotations

from dataclasses import dataclass

from yocho.contract import Source

# Regional banks (地方銀行) of Hokkaido and Tohoku first, so the default three banks and
# the association share a region, as a real association's lenders do. Codes are
# 統一金融機関コード present in the 全銀 list (0118 みちのく merged into 0117 in 2025).
REGIONAL_BANKS: tuple[tuple[str, str, int], ...] = (
    ("0116", "北海道銀行", 1),
    ("0117", "青森みちのく銀行", 2),
    ("0119", "秋田銀行", 5),
    ("0120", "北都銀行", 5),
    ("0123", "岩手銀行", 3),
    ("0122", "山形銀行", 6),
    ("0125", "七十七銀行", 4),
    ("0126", "東邦銀行", 7),
    ("0121", "荘内銀行", 6),
    ("0124", "東北銀行", 3),
    ("0130", "常陽銀行", 8),
    ("0128", "群馬銀行", 10),
    ("0134", "千葉銀行", 12),
)

# Lenders outside the participating banks (信用金庫) whose loans the association also
# guarantees: the association sees these borrowers, the banks do not.
OUTSIDE_LENDERS: tuple[str, ...] = ("1001", "1003", "1008", "1020", "1026", "1027")

# 4-digit codes that are not in the 全銀 list, for planted "unknown bank code" rows.
UNKNOWN_BANK_CODES: tuple[str, ...] = ("0118", "0199", "9996")

# How files arrive: the three ways banks really send extracts, cycled over the banks.
BANK_FORMATS = ("cp932_ja", "utf8bom_en", "parquet")
CGA_FORMAT = "cp932_ja"


@dataclass(frozen=True)
class Institution:
    id: str
    source: Source
    code: str          # bank code, or the association's 2-digit number
    name: str
    fmt: str           # cp932_ja | utf8bom_en | parquet
    index: int         # position in the portfolio's institution list
    # local_id = (mult * business index + add) mod 10**9: a bijection, so customer
    # numbers are unique within the institution and unrelated across institutions.
    lid_mult: int
    lid_add: int

    @property
    def is_bank(self) -> bool:
        return self.source is Source.BANK


def institutions(banks: int) -> list[Institution]:
    """The banks (first `banks` regional banks) followed by the one guarantee association."""
    if banks > len(REGIONAL_BANKS):
        raise ValueError(f"at most {len(REGIONAL_BANKS)} banks can be generated, got {banks}")
    # Multipliers coprime to 10: odd and not a multiple of 5.
    mults = (7_919_371, 3_141_593, 2_718_287, 1_618_039, 9_876_541, 4_444_443, 6_666_661,
             8_312_447, 5_550_551, 2_222_227, 3_737_373, 9_090_901, 1_234_577, 7_070_707)
    out = []
    for i, (code, name, _) in enumerate(REGIONAL_BANKS[:banks]):
        out.append(Institution(
            id=f"bank_{code}", source=Source.BANK, code=code, name=name,
            fmt=BANK_FORMATS[i % len(BANK_FORMATS)], index=i,
            lid_mult=mults[i], lid_add=(i + 1) * 104_729_003 % 10**9,
        ))
    pref = REGIONAL_BANKS[0][2]
    out.append(Institution(
        id=f"cga_{pref:02d}", source=Source.GUARANTEE_ASSOCIATION, code=f"{pref:02d}",
        name="信用保証協会", fmt=CGA_FORMAT, index=banks,
        lid_mult=mults[-1], lid_add=271_828_183,
    ))
    return out


def home_prefectures(banks: int) -> list[int]:
    return [p for _, _, p in REGIONAL_BANKS[:banks]]
