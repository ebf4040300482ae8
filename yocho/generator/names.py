"""Trade names and relationship-manager notes, assembled from word lists (all cp932-safe)."""
from __future__ import annotations

import numpy as np
import polars as pl

from yocho.generator.population import DIVISIONS, Population

_STEMS = (
    "北斗 大和 丸山 青葉 旭 東邦 三和 日新 栄光 中央 北央 富士 松竹 朝日 光洋 新和 共栄 協和 大成 永和 "
    "平和 高砂 若葉 白樺 十勝 津軽 奥羽 羽後 陸奥 岩木 鳥海 田沢 男鹿 函館 小樽 石狩 空知 釧路 山田 佐藤 "
    "鈴木 高橋 田中 伊藤 渡辺 中村 小林 加藤 吉田 佐々木 山本 斎藤 工藤 三浦 菊地 阿部 成田 今野"
).split()
_SUFFIX = {
    "A": "農園 牧場 林業 ファーム 農産",
    "B": "水産 漁業 海産 養殖 漁業部",
    "D": "建設 工務店 土木 設備工業 電気工事",
    "E": "製作所 工業 精機 食品 木材工業",
    "G": "システム ソフト 情報サービス ネット 通信",
    "H": "運輸 運送 物流 交通 タクシー",
    "I": "商事 商店 物産 販売 ストア",
    "K": "不動産 興産 リース 地所 住宅",
    "L": "設計事務所 技研 コンサルタント 測量 デザイン",
    "M": "食堂 旅館 フーズ ホテル 寿司",
    "N": "美容室 クリーニング 理容 観光 スポーツ",
    "P": "ケアサービス 介護センター 薬局 福祉会 訪問看護",
    "R": "サービス ビルメンテナンス 警備保障 企画 環境",
}
_DEFAULT = "産業 企画 開発 総業 事業所"

_NOTES = {
    "management_unreachable": ["代表者に電話・訪問するも面談できず", "社長と連絡がつかない状況が続いている"],
    "key_customer_lost": ["主力販売先との取引が終了した模様", "大口取引先の撤退により受注が減少"],
    "successor_absent": ["代表者高齢、後継者未定", "事業承継の予定なしとの話"],
    "owner_illness": ["代表者が入院中とのこと", "社長の体調不良により営業縮小"],
    "staff_leaving": ["従業員の退職が相次いでいる", "人手不足で受注を断っている"],
    "refuses_financials": ["決算書の提出を依頼するも応じず", "試算表の提出が滞っている"],
    "tax_arrears_found": ["税務署による差押えを確認", "社会保険料の滞納が判明"],
    "litigation": ["取引先との間で係争中", "未払金を巡り訴訟提起された"],
    "disaster": ["大雨による店舗浸水の被害", "地震により設備が一部損壊"],
    "other": ["特記事項あり、継続して確認", "来店時に資金繰りの相談あり"],
}


def business_names(pop: Population, members: np.ndarray) -> pl.Series:
    # Derived from the business index, so the same business has the same name everywhere.
    seeds = (pop.gid[members].astype(np.int64) * 2_654_435_761) % 2**32
    stem = pl.Series(_STEMS).gather(seeds % len(_STEMS))
    div = DIVISIONS[pop.division[members]]
    pick = (seeds // 97) % 5
    suffix_table = pl.DataFrame({
        "div": [d for d in DIVISIONS for _ in range(5)],
        "k": [k for _ in DIVISIONS for k in range(5)],
        "suffix": [w for d in DIVISIONS for w in _SUFFIX.get(d, _DEFAULT).split()],
    })
    frame = pl.DataFrame({"div": div, "k": pick.astype(np.int64), "stem": stem,
                          "form": (seeds // 7919) % 20, "sole": pop.sole[members]})
    frame = frame.join(suffix_table, on=["div", "k"], how="left", maintain_order="left")
    core = pl.col("stem") + pl.col("suffix")
    form = pl.col("form")
    name = (
        pl.when(pl.col("sole")).then(core)
        .when(form < 10).then("株式会社" + core)
        .when(form < 15).then(core + "株式会社")
        .when(form < 19).then("有限会社" + core)
        .otherwise("合同会社" + core)
    )
    return frame.select(name.alias("name")).to_series()


def observation_notes(codes: np.ndarray, rng: np.random.Generator) -> pl.Series:
    variant = rng.integers(0, 2, len(codes))
    blank = rng.random(len(codes)) < 0.2
    table = pl.DataFrame({
        "code": [c for c in _NOTES for _ in range(2)],
        "v": [v for _ in _NOTES for v in range(2)],
        "note": [n for c in _NOTES for n in _NOTES[c]],
    })
    frame = pl.DataFrame({"code": codes.astype(str), "v": variant}).join(
        table, on=["code", "v"], how="left", maintain_order="left")
    return frame["note"].set(pl.Series(blank), None)
