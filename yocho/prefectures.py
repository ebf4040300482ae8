"""The 47 prefectures of Japan by their JIS X 0401 codes (01–47), and what a code names in
Yocho: the SME Revitalization Council (中小企業活性化協議会) of the prefecture, one per
prefecture, each a separate intake (`council_<NN>`), and the prefecture of a credit guarantee
association (`cga_<NN>`: NN the prefecture's code, or 48–51 for the four city associations,
yocho.contract.CGA_CITIES)."""
from __future__ import annotations

PREFECTURES: dict[int, str] = {
    1: "北海道", 2: "青森県", 3: "岩手県", 4: "宮城県", 5: "秋田県", 6: "山形県", 7: "福島県",
    8: "茨城県", 9: "栃木県", 10: "群馬県", 11: "埼玉県", 12: "千葉県", 13: "東京都", 14: "神奈川県",
    15: "新潟県", 16: "富山県", 17: "石川県", 18: "福井県", 19: "山梨県", 20: "長野県", 21: "岐阜県",
    22: "静岡県", 23: "愛知県", 24: "三重県", 25: "滋賀県", 26: "京都府", 27: "大阪府", 28: "兵庫県",
    29: "奈良県", 30: "和歌山県", 31: "鳥取県", 32: "島根県", 33: "岡山県", 34: "広島県", 35: "山口県",
    36: "徳島県", 37: "香川県", 38: "愛媛県", 39: "高知県", 40: "福岡県", 41: "佐賀県", 42: "長崎県",
    43: "熊本県", 44: "大分県", 45: "宮崎県", 46: "鹿児島県", 47: "沖縄県",
}
# The city guarantee associations (cga_48–51) and the prefecture each city lies in.
CGA_CITY_PREFECTURE: dict[int, int] = {48: 14, 49: 14, 50: 23, 51: 21}  # 横浜市, 川崎市: 神奈川; 名古屋市: 愛知; 岐阜市: 岐阜

COUNCIL_PREFIX = "council_"
COUNCIL_SUFFIX = "中小企業活性化協議会"


def prefecture_name(code: int) -> str:
    return PREFECTURES[code]


def is_prefecture(code: object) -> bool:
    return isinstance(code, int) and not isinstance(code, bool) and code in PREFECTURES


def council_id(code: int) -> str:
    """The institution id of a prefecture's council: council_13 for 東京都."""
    if not is_prefecture(code):
        raise ValueError(f"not a JIS X 0401 prefecture code: {code!r}")
    return f"{COUNCIL_PREFIX}{code:02d}"


def council_name(code: int) -> str:
    """東京都中小企業活性化協議会 for 13."""
    return f"{PREFECTURES[code]}{COUNCIL_SUFFIX}"


def council_prefecture(institution_id: str) -> int | None:
    """The prefecture of a council id (council_13 -> 13), None for anything else."""
    digits = institution_id.removeprefix(COUNCIL_PREFIX)
    if institution_id.startswith(COUNCIL_PREFIX) and len(digits) == 2 and digits.isdigit():
        code = int(digits)
        return code if is_prefecture(code) else None
    return None


def cga_prefecture(institution_id: str) -> int | None:
    """The prefecture of a guarantee association's id: cga_13 -> 13, the city associations to
    their prefecture (cga_50 名古屋市 -> 23), None for anything else."""
    digits = institution_id.removeprefix("cga_")
    if not (institution_id.startswith("cga_") and len(digits) == 2 and digits.isdigit()):
        return None
    code = int(digits)
    return code if is_prefecture(code) else CGA_CITY_PREFECTURE.get(code)
