"""Every label of the web app in Japanese (first) and English.

`MESSAGES` maps a key to (ja, en); `translate(lang, key)` picks one. The language of a
request comes from `?lang=ja|en` (remembered in a cookie), else the cookie, else Japanese.
Labels of the data layer's values (states, roles, routes, bands, phases, indicators) come
from the data layer itself for Japanese (STATE_JA, PHASES, the indicator catalog) and are
paired here with English.
"""
from __future__ import annotations

import re
from functools import lru_cache

from signals.phases import PHASES
from signals.queue.lifecycle import DISMISS_REASON_JA, ROLE_JA, ROUTE_JA, STATE_JA, DismissReason, Role, Route, State
from signals.queue.notifications import KIND_EN, KIND_JA
from signals.queue.stage_kpis import NO_PHASE
from signals.queue.stage_terms import MEASURE_LABELS, STAGE_LABELS

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"
LANG_COOKIE = "yocho_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # chrome
    "app_name": ("予兆 — 早期警戒レビュー", "Yocho — early-warning review"),
    "app_short": ("予兆", "Yocho"),
    "app_tagline": ("早期警戒レビュー", "Early-warning review"),
    "nav_worklist": ("ワークリスト", "Worklist"),
    "nav_council": ("協議会受付", "Council intake"),
    "nav_referrals": ("協議会紹介", "Referrals"),
    "nav_kpis": ("KPI", "KPIs"),
    "nav_exports": ("エクスポート", "Exports"),
    "nav_admin_users": ("ユーザー管理", "Users"),
    "nav_admin_audit": ("アカウント監査", "Account audit"),
    "logout": ("ログアウト", "Log out"),
    "nav_password": ("パスワード変更", "Change password"),
    "nav_inbox": ("受信箱", "Inbox"),
    "nav_documents": ("依頼された資料", "Documents requested"),
    "nav_documents_count": ("未送付 {n}件（うち期限超過 {late}件）", "{n} to send ({late} overdue)"),
    # document requests between a case's lead institution and the other lenders (webapp/routes_documents.py)
    "documents_title": ("依頼された資料", "Documents requested of you"),
    "documents_lead": ("案件の主担当機関（信用保証協会・金融機関）から、あなたの機関に送付を依頼された資料です（期限の早い順）。送付したら受領を記録してください。",
                       "Documents the lead institution of a case asked your institution to send, earliest due first. Record each one once you have sent it."),
    "documents_empty": ("送付を依頼されている資料はありません。", "No documents are requested of your institution."),
    "documents_case": ("資料依頼", "Document requests"),
    "documents_case_lead_note": ("この案件の主担当は{lead}です。主担当は他の取引金融機関に資料を依頼できます。",
                                 "{lead} leads this case and may ask the other lenders for documents."),
    "documents_outstanding": ("未着 {n}件（うち期限超過 {late}件）", "{n} outstanding ({late} overdue)"),
    "documents_none": ("資料の依頼はまだありません。", "No documents requested yet."),
    "document": ("資料", "Document"),
    "document_asked": ("依頼先", "Asked of"),
    "document_by": ("依頼者", "Requested by"),
    "document_due": ("期限", "Due"),
    "document_status": ("状況", "Status"),
    "document_dates": ("日付", "Dates"),
    "document_requested_on": ("依頼 {date}", "requested {date}"),
    "document_received_on": ("受領 {date}", "received {date}"),
    "document_waived_on": ("取下げ {date}", "waived {date}"),
    "document_status_requested": ("依頼中", "Requested"),
    "document_status_received": ("受領済", "Received"),
    "document_status_waived": ("取下げ", "Waived"),
    "document_overdue": ("期限超過", "Overdue"),
    "document_trial_balance": ("最新の試算表", "Latest trial balance"),
    "document_cash_flow_plan": ("資金繰り表", "Cash-flow plan"),
    "document_repayment_schedule": ("返済予定表", "Repayment schedule"),
    "document_financial_statements": ("直近決算書", "Latest financial statements"),
    "document_other": ("その他", "Other"),
    "document_request_form": ("資料を依頼する", "Request documents"),
    "document_request_to": ("依頼先の機関", "Institution asked"),
    "document_request_which": ("依頼する資料", "Documents"),
    "document_request_note": ("補足（「その他」は必須）", "Note (required for Other)"),
    "document_request_button": ("依頼する", "Send the request"),
    "document_requested": ("{n}件の資料を{to}に依頼しました。", "Requested {n} {n|document|documents} of {to}."),
    "document_receive_form": ("送付を記録", "Record as sent"),
    "document_receive_on": ("送付日", "Sent on"),
    "document_receive_ref": ("ファイル名または文書番号", "File name or document number"),
    "document_receive_button": ("受領を記録", "Record receipt"),
    "document_received": ("資料の送付を記録しました。", "The document is recorded as received."),
    "document_waive_form": ("依頼を取り下げる", "Waive the request"),
    "document_waive_reason": ("理由（任意）", "Reason (optional)"),
    "document_waive_button": ("取り下げる", "Waive"),
    "document_waived": ("資料の依頼を取り下げました。", "The request is waived."),
    "document_forbidden": ("この操作はできません（{reason}）", "Not allowed ({reason})"),
    "document_conflict": ("この依頼は既に処理されています。再読み込みしてください。", "The request was already handled; reload the page."),
    "evidence_documents": ("予兆検知後に受領した資料", "Documents received since the flag"),
    "evidence_document_line": ("{date} {institution}より{document}を受領（{ref}）",
                               "{date}: {document} received from {institution} ({ref})"),
    "inbox_help_document_requested": ("案件の主担当機関から自機関に送付を依頼された資料", "Documents a case's lead institution asked your institution to send"),
    "inbox_help_document_overdue": ("自機関に依頼された、または自機関が依頼した資料のうち期限を過ぎて未着のもの", "Documents asked of or by your institution, past due and not received"),
    "reason_document_requested": ("資料依頼", "Document requested"),
    "reason_document_received": ("資料受領", "Document received"),
    "reason_document_waived": ("資料依頼の取下げ", "Request waived"),
    "inbox_unread_n": ("未読 {n}件", "{n} unread"),
    # the inbox
    "inbox_title": ("受信箱", "Inbox"),
    "inbox_lead": ("あなたの担当範囲の新しい作業です（過去30日、新しい順）。対応中の案件だけが残ります。",
                   "New work in your scope (the last 30 days, newest first). Only cases still open stay here."),
    "inbox_summary": ("{total}件（未読 {unread}件）", "{total} {total|item|items}, {unread} unread"),
    "inbox_show_all": ("すべて表示", "Show all"),
    "inbox_show_unread": ("未読のみ", "Unread only"),
    "inbox_mark_all": ("すべて既読にする", "Mark all as read"),
    "inbox_mark_one": ("既読にする", "Mark as read"),
    "inbox_all_read": ("すべて既読にしました。", "All items marked as read."),
    "inbox_empty": ("新しい作業はありません。", "Nothing new."),
    "inbox_unread": ("未読", "Unread"),
    "inbox_read": ("既読", "Read"),
    "inbox_when": ("日時", "When"),
    "inbox_kind": ("種類", "Kind"),
    "inbox_about": ("対象", "About"),
    "inbox_detail": ("内容", "Detail"),
    "inbox_open": ("開く", "Open"),
    "inbox_kinds_help": ("この受信箱に届くもの：", "What reaches this inbox:"),
    "inbox_help_case_opened": ("夜間の判定で月間審査枠内に新しく開かれた案件", "Cases the nightly flags opened within the monthly budget"),
    "inbox_help_snooze_ended": ("保留期間が終わった、または新たな重大予兆で再開した案件", "Snoozed cases woken (snooze over, or a new critical sign)"),
    "inbox_help_new_critical_sign": ("これまでになかった重大予兆が出た対応中の案件", "Open cases with a critical sign none of their earlier nights had"),
    "inbox_help_referral_decided": ("自機関が紹介した案件への協議会の受付・不受理", "The council's acceptance or refusal of your institution's referrals"),
    "inbox_help_referral_received": ("同意を得て金融機関・保証協会から紹介された案件", "Cases institutions referred with the owner's consent"),
    "inbox_help_referral_withdrawn": ("紹介元が本人同意の撤回を記録し、協議会から見えなくなった紹介（案件番号のみ）", "Referrals hidden from the council because the owner withdrew consent (case number only)"),
    "inbox_help_password_pending": ("管理者・運用者が設定したパスワードをまだ変更していないアカウント", "Accounts still on a password an administrator or the operator set"),
    "inbox_help_account_locked": ("失敗が続きログインを一時的に止めたアカウント", "Accounts whose logins were refused for a while after repeated failures"),
    "email": ("メールアドレス", "E-mail"),
    "email_hint": ("毎日の作業まとめメールの宛先（空欄で削除）", "Where the daily digest goes (empty: none)"),
    "email_set": ("メール設定", "E-mail"),
    "email_set_button": ("{username} のメールアドレスを保存", "Save {username}'s e-mail address"),
    "email_saved": ("{username} のメールアドレスを保存しました。", "Saved {username}'s e-mail address."),
    "email_cleared": ("{username} のメールアドレスを削除しました。", "Removed {username}'s e-mail address."),
    "language": ("言語", "Language"),
    "skip_to_content": ("本文へ移動", "Skip to content"),
    "signed_in_as": ("ログイン中", "Signed in as"),
    # login
    "login_title": ("ログイン", "Log in"),
    "login_lead": ("金融機関・信用保証協会・中小企業活性化協議会の担当者用です。",
                   "For reviewers at banks, credit guarantee associations and the SME Revitalization Council."),
    "username": ("ユーザー名", "Username"),
    "password": ("パスワード", "Password"),
    "login_button": ("ログイン", "Log in"),
    "login_failed": ("ユーザー名またはパスワードが正しくありません。", "Wrong username or password."),
    "login_throttled": ("ログインの試行が多すぎます。{seconds}秒後にもう一度お試しください。",
                        "Too many login attempts. Try again in {seconds} seconds."),
    "logged_out": ("ログアウトしました。", "You have logged out."),
    "login_required": ("ログインしてください。", "Please log in."),
    # the user's own password (/account/password)
    "password_page_title": ("パスワードの変更", "Change your password"),
    "password_page_lead": ("新しいパスワードを設定すると、他の端末でのログインはすべて終了します。",
                           "Setting a new password ends your sessions on every other device."),
    "password_change_required": ("このパスワードは管理者または運用担当者が設定したものです。続けるには、ご自身で新しいパスワードを設定してください。",
                                 "Your password was set by an administrator or the operator. Choose a password of "
                                 "your own to continue."),
    "current_password": ("現在のパスワード", "Current password"),
    "new_password": ("新しいパスワード", "New password"),
    "new_password_hint": ("{n}文字以上。現在のパスワードとは別のもの", "At least {n} {n|character|characters}, not the current one"),
    "new_password_confirm": ("新しいパスワード（確認）", "New password again"),
    "password_change_button": ("パスワードを変更する", "Change the password"),
    "password_changed_done": ("パスワードを変更しました。他の端末のログイン{n}件を終了しました。",
                              "Your password is changed. {n} other {n|session|sessions} ended."),
    "current_password_missing": ("現在のパスワードを入力してください。", "Enter your current password."),
    "current_password_wrong": ("現在のパスワードが正しくありません。", "The current password is wrong."),
    "password_too_long": ("パスワードは{n}文字以内にしてください。", "The password must be at most {n} {n|character|characters}."),
    "password_unchanged": ("新しいパスワードは現在のパスワードと別のものにしてください。",
                           "The new password must differ from the current one."),
    # errors
    "error_title": ("エラー", "Error"),
    "not_found_title": ("見つかりません", "Not found"),
    "not_found_text": ("この案件は存在しないか、閲覧権限がありません。",
                       "This case does not exist, or you may not see it."),
    "page_not_found_text": ("ページが見つかりません。", "There is no such page."),
    "forbidden_title": ("権限がありません", "Not allowed"),
    "forbidden_text": ("この操作を行う権限がありません。", "You may not do this."),
    "csrf_failed": ("フォームの有効期限が切れたか、不正な送信です。ページを再読み込みしてやり直してください。",
                    "The form expired or was not sent from this site. Reload the page and try again."),
    "bad_request_title": ("入力エラー", "Invalid input"),
    "back_to_worklist": ("ワークリストへ戻る", "Back to the worklist"),
    "conflict": ("他の担当者がこの案件を更新しました。最新の内容を確認してからやり直してください。",
                 "Someone else changed this case. Check the latest version and try again."),
    "illegal_transition": ("この状態からはその操作はできません。", "That move is not possible from this state."),
    "invalid_input": ("入力内容を確認してください。", "Please check your input."),
    "transition_done": ("状態を「{state}」に変更しました。", "The case is now “{state}”."),
    # worklist
    "worklist_title": ("ワークリスト", "Worklist"),
    "council_worklist_title": ("協議会への紹介案件", "Referrals to the council"),
    "filters": ("絞り込み", "Filters"),
    "state": ("状態", "State"),
    "phase": ("推奨支援フェーズ", "Recommended phase"),
    "band": ("リスク区分", "Risk band"),
    "institution": ("取引機関", "Institution"),
    "search": ("検索", "Search"),
    "search_placeholder": ("商号・法人番号・管理番号", "Name, corporate or account number"),
    "apply": ("絞り込む", "Apply"),
    "clear": ("解除", "Clear"),
    "all": ("すべて", "All"),
    "open_states": ("未完了（既定）", "Open (default)"),
    "open_short": ("未完了", "Open"),
    "any": ("指定なし", "Any"),
    "page_size": ("表示件数", "Per page"),
    "results": ("{total}件中 {first}–{last}件", "{first}–{last} of {total}"),
    "no_results": ("該当する案件はありません。", "No cases match."),
    "prev": ("前へ", "Previous"),
    "next": ("次へ", "Next"),
    "page_of": ("{page} / {pages}ページ", "Page {page} of {pages}"),
    "col_priority": ("優先順位", "Priority"),
    "col_no": ("No.", "No."),
    "col_no_help": ("この一覧で表示している順の番号です。", "The position in this list, in the order shown."),
    "col_rank_lead": ("主担当機関での順位", "Rank at lead institution"),
    "col_rank_lead_help": ("主担当機関（{institution}）が直近の夜間処理で付けた、同機関の予兆先の中での優先順位です。この一覧の並び順ではありません。",
                           "The priority rank the lead institution ({institution}) gave the business among its own "
                           "flagged businesses on the latest night; not this list's order."),
    "col_case": ("案件", "Case"),
    "col_business": ("事業者", "Business"),
    # the monthly review budget (月間審査枠) and the entries waiting below the line
    "budget_line": ("今月の審査枠 {budget}件 / 新規 {opened}件 / 枠外で待機中 {waiting}件",
                    "This month's review budget {budget} / new cases {opened} / waiting below the line {waiting}"),
    "budget_basis": ("{as_of}時点・監視先 {monitored}社", "as of {as_of}, {monitored} {monitored|business|businesses} monitored"),
    "waiting_link": ("枠外の待機先を見る", "See the entries waiting"),
    "waiting_title": ("枠外で待機中の先", "Waiting below the line"),
    "waiting_lead": ("今月の審査枠を超えた新規の予兆先です。重大予兆のある先、優先度、発生確率の順に並び、翌月以降の枠で順に案件化されます。",
                     "New flagged businesses beyond this month's review budget, ranked critical signs first, then "
                     "priority, then probability; later months' budgets open them in this order."),
    "col_rank_below": ("枠外順位", "Rank below the line"),
    "dismissal_discount": ("前回却下", "Dismissed before"),
    "dismissal_discount_help": ("直近の案件が却下されたため優先度を半分にしています",
                                "Priority halved: the last case was dismissed"),
    "no_waiting": ("枠外で待機中の先はありません。", "Nothing is waiting below the line."),
    "col_probability": ("発生確率", "Probability"),
    "col_band": ("区分", "Band"),
    "col_phase": ("支援フェーズ", "Phase"),
    "col_state": ("状態", "State"),
    "col_first_sign": ("最初の予兆", "First sign"),
    "col_flagged": ("検知日", "Flagged"),
    "col_updated": ("更新", "Updated"),
    "col_signs": ("重大予兆", "Critical signs"),
    "critical_sign": ("重大予兆", "Critical sign"),
    "critical_sign_help": ("運用設定で「重大予兆」とした予兆です。スコアにかかわらず、これだけで案件化の対象になります。",
                           "A sign the flag policy names critical: on its own it puts the business in the queue, "
                           "whatever the score."),
    "severity_badge": ("重要度「{level}」", "{level} severity"),
    "col_institutions": ("取引機関", "Institutions"),
    "col_referred": ("紹介日", "Referred"),
    "col_consent": ("同意取得日", "Consent"),
    "col_route": ("紹介経路", "Route"),
    "col_referrer": ("紹介元", "Referred by"),
    "col_actions": ("操作", "Actions"),
    "sort_by": ("{column}で並べ替え", "Sort by {column}"),
    "download_xlsx": ("Excel (.xlsx)", "Excel (.xlsx)"),
    "download_csv": ("CSV (UTF-8)", "CSV (UTF-8)"),
    "download": ("ダウンロード", "Download"),
    "export_this_list": ("この一覧をダウンロード", "Download this list"),
    # case page
    "case_title": ("案件 #{id}", "Case #{id}"),
    "business_key": ("事業者キー（法人番号等）", "Business key (corporate number etc.)"),
    "version": ("版", "Version"),
    "summary": ("概要", "Summary"),
    "probability_12m": ("発生確率（12か月）", "12-month probability"),
    "priority": ("優先度", "Priority"),
    "priority_rank": ("主担当機関での優先順位", "Priority rank at the lead institution"),
    "business_name": ("商号", "Trade name"),
    "trigger": ("検知の契機", "Trigger"),
    "first_sign_on": ("最初の予兆日", "First sign on"),
    "flagged_on": ("検知日", "Flagged on"),
    "last_as_of": ("最新データ基準日", "Latest data as of"),
    "lead_institution": ("主担当機関", "Lead institution"),
    "institutions": ("取引機関（管理番号）", "Institutions (account numbers)"),
    "local_id_hidden": ("他機関の管理番号は非表示", "other institution's number hidden"),
    "portfolio_share": ("ポートフォリオ上位", "Top of portfolio"),
    "in_event": ("既に事故・延滞等あり", "Already in an event"),
    "within_capacity": ("今月の審査枠内", "Within this month's capacity"),
    "yes": ("はい", "yes"),
    "no": ("いいえ", "no"),
    "snooze_until": ("保留期限", "Snoozed until"),
    "snooze_reason": ("保留理由", "Snooze reason"),
    "consent_on": ("本人同意の取得日", "Owner's consent on"),
    "consent_note": ("同意に関するメモ", "Consent note"),
    "referred_on": ("紹介日", "Referred on"),
    "route": ("紹介経路", "Route"),
    "referring_institution": ("紹介元機関", "Referring institution"),
    "closed_on": ("完了日", "Closed on"),
    "close_reason": ("完了理由", "Reason"),
    "recommended_phase": ("推奨支援フェーズ", "Recommended support phase"),
    "phase_reason": ("判定理由", "Reason"),
    "phase_unset": ("未設定", "Not set"),
    "evidence": ("根拠（エビデンス）", "Evidence"),
    "evidence_as_of": ("{date}時点のスナップショット（{kind}）", "Snapshot as of {date} ({kind})"),
    "snapshot_initial": ("初回", "initial"),
    "snapshot_update": ("更新", "update"),
    "snapshots": ("スナップショット履歴", "Snapshot history"),
    "no_evidence": ("エビデンスはありません（手動登録の案件）。", "No evidence (a case registered by hand)."),
    "signs_fired": ("発生した予兆", "Signs fired"),
    "no_signs": ("この時点で発生した予兆はありません。", "No signs fired at this date."),
    "other_institutions": ("他機関", "Other institutions"),
    "reported_by_others": ("他の機関からも報告あり（詳細は共有ルールにより非表示）",
                           "also reported by another institution (details withheld by the sharing rules)"),
    "indicator": ("指標", "Indicator"),
    "family": ("分類", "Family"),
    "severity": ("重要度", "Severity"),
    "value": ("値", "Value"),
    "sign_what": ("内容（数値と期間）", "What was found (figures and period)"),
    "signs_note": ("ここに並ぶのはこの時点で発生した予兆だけです。「重大予兆」の印は、運用設定でそれだけで案件化の対象とする予兆です。重要度は予兆ごとの目安で、重要度「高」でも重大予兆とは限りません。",
                   "Only signs that fired at this date are listed. The “critical sign” mark shows a sign the flag "
                   "policy treats as enough on its own to open a case; severity is each sign's own rating, and a "
                   "high-severity sign is not necessarily critical."),
    "details": ("詳細", "Details"),
    "score": ("スコア", "Score"),
    "model_version": ("モデル版", "Model version"),
    "top_factors": ("主な要因", "Top factors"),
    "contribution": ("寄与度", "Contribution"),
    "factor_kind": ("種類", "Kind"),
    "kind_sign": ("予兆（発火）", "Warning sign (fired)"),
    "kind_figure": ("数値（予兆ではない）", "Figure (not a warning sign)"),
    "kind_missing": ("データなし（予兆ではない）", "No data (not a warning sign)"),
    "factors_note": ("寄与度は、その要因がリスクスコアを押し上げた大きさ（較正後の対数オッズ）です。"
                     "予兆として扱うのは「予兆（発火）」のみで、数値やデータ欠落は予兆ではありません。",
                     "Contribution: how much the factor raised the risk score (calibrated log-odds). Only "
                     "\u201cwarning sign (fired)\u201d rows are warning signs; figures and missing data are not."),
    "fired": ("発生", "Fired"),
    "charts": ("主要な月次推移（24か月）", "Key monthly series (24 months)"),
    "chart_marker_note": ("赤い印は、前月には出ていなかった予兆が新たに発生した月です。線が切れている月はデータがありません。",
                          "Red markers show months in which a sign fired that had not the month before; a break in a "
                          "line is a month without data."),
    "chart_loan_balance": ("借入残高", "Loan balance"),
    "chart_dpd": ("最長延滞日数", "Days past due (max)"),
    "chart_deposit_balance": ("預金残高（月末）", "Deposit balance (month end)"),
    "chart_score": ("スコア（12か月発生確率）", "Score (12-month probability)"),
    "chart_inflow": ("入金額（月計）", "Inflows (monthly)"),
    "chart_failed_debits": ("口座振替不能（件数）", "Failed direct debits"),
    "chart_opened": ("{month} 案件化", "Case opened {month}"),
    "chart_opened_note": ("破線は案件化した月です。", "The dashed line marks the month the case was opened."),
    "chart_no_data": ("データなし", "No data"),
    "chart_signs_in": ("{month} に新たに発生した予兆: {signs}", "New signs in {month}: {signs}"),
    # why now
    "why_now": ("今月の変化", "What changed this month"),
    "why_now_compared": ("{date}時点と前回 {since} の比較", "As of {date}, compared with {since}"),
    "why_now_first_month": ("{date}時点。比較できる前月の記録がありません（記録の最初の月）。",
                            "As of {date}. There is no earlier month on record to compare with."),
    "why_now_probability": ("確率（12か月以内の劣化事象）", "Probability of a deterioration event within 12 months"),
    "why_now_band": ("リスク区分", "Risk band"),
    "why_now_prev_score": ("前回 {since}: {value}", "{since}: {value}"),
    "why_now_opened_score": ("案件化時 {since}: {value}", "When opened, {since}: {value}"),
    "why_now_no_prev_score": ("前回のスコアはありません", "No earlier score"),
    "why_now_new_signs": ("今月新たに発生した予兆", "Signs that fired this month"),
    "why_now_first_signs": ("この月に発生している予兆", "Signs firing this month"),
    "why_now_stopped_signs": ("前月から止まった事象（現在は予兆として発生していません）",
                              "Stopped since last month (no longer firing: not warning signs now)"),
    "why_now_continuing": ("継続中の予兆: {n}件", "Still firing: {n}"),
    "why_now_none": ("なし", "none"),
    "why_now_no_sign_change": ("前月から新たに発生した予兆も、止まった事象もありません。",
                               "No sign fired or stopped since the previous month."),
    "since_opened_no_sign_change": ("案件化時から新たに発生した予兆も、止まった事象もありません。",
                                    "No sign fired or stopped since the case was opened."),
    "since_opened": ("案件化（{date}、{months}か月前）からの変化", "Since the case was opened ({date}, {months} {months|month|months} ago)"),
    "since_opened_new": ("案件化後に発生した予兆", "Signs that fired since opening"),
    "since_opened_stopped": ("案件化時から止まった事象（現在は発生していません）",
                             "Stopped since opening (not firing now)"),
    "band_unchanged": ("変化なし", "unchanged"),
    # how similar cases ended
    "similar": ("類似案件のその後", "How similar cases ended"),
    "similar_basis": ("推奨フェーズ「{phase}」・きっかけ「{trigger}」が同じで終了した案件 {n}件",
                      "{n} closed {n|case|cases} with the same phase ({phase}) and trigger ({trigger})"),
    "similar_basis_phase": ("推奨フェーズ「{phase}」が同じで終了した案件 {n}件（きっかけを問わず）",
                            "{n} closed {n|case|cases} with the same phase ({phase}), any trigger"),
    "similar_scope_institution": ("あなたの機関が閲覧できる案件のみを集計しています。",
                                  "Counted over the cases your institution can see only."),
    "similar_scope_council": ("協議会に紹介された案件のみを集計しています。",
                              "Counted over the cases referred to the council only."),
    "similar_scope_admin": ("全機関の案件を集計しています。", "Counted over every institution's cases."),
    "similar_too_few": ("類似の終了案件が{n}件未満のため表示しません（個別の案件が特定されないように）。",
                        "Fewer than {n} similar closed {n|case|cases}: not shown (so no single case can be identified)."),
    "similar_outcome": ("結果", "Outcome"),
    "similar_count": ("件数", "Cases"),
    "similar_median": ("案件化から終了までの中央値: {months}か月", "Median from flag to close: {months} {months|month|months}"),
    "reason_code": ("理由", "Reason"),
    "reason_code_required": ("対象外とする理由（必須）", "Reason for dismissing (required)"),
    "reason_choose": ("選択してください", "Choose one"),
    "reason_note_hint": ("「その他」を選んだ場合は記述が必須です。", "Describe the reason when choosing Other."),
    "reason_uncoded": ("理由コードなし", "No reason code"),
    "history": ("対応履歴（監査ログ）", "History (audit log)"),
    "at": ("日時", "When"),
    "actor": ("担当者", "By"),
    "from_to": ("変更", "Change"),
    "note": ("メモ", "Note"),
    "system_actor": ("夜間処理", "nightly job"),
    # the nightly job's notes in the audit log (webapp/notes.py)
    "note_flagged": ("{date}時点の予兆検知により案件化（契機：{trigger}）", "Opened by the signs as of {date} (trigger: {trigger})"),
    "note_snooze_over": ("保留期限（{date}）が過ぎたため検討中に戻しました", "Back under review: the snooze ended ({date})"),
    "note_new_critical": ("新たな重大予兆のため検討中に戻しました：{signs}", "Back under review on a new critical sign: {signs}"),
    "created": ("作成", "created"),
    "state_unchanged": ("状態の変更なし", "state unchanged"),
    "actions": ("操作", "Actions"),
    "no_actions": ("あなたが行える操作はありません。", "There is nothing you can do with this case now."),
    "note_optional": ("メモ（任意）", "Note (optional)"),
    "reason_required": ("理由（必須）", "Reason (required)"),
    "consent_date": ("本人同意の取得日（必須）", "Date of the owner's consent (required)"),
    "consent_hint": ("事業者本人から協議会への情報提供について同意を得た日", "The day the owner agreed to the referral"),
    "snooze_date": ("保留期限（必須）", "Snooze until (required)"),
    # the consent on record (signals/queue/consent.py)
    "consent_method": ("同意の取得方法（必須）", "How consent was obtained (required)"),
    "consent_method_written": ("書面", "In writing"),
    "consent_method_electronic": ("電子", "Electronic"),
    "consent_from": ("同意者（代表者の氏名・役職、必須）", "From whom (the representative, name and title; required)"),
    "consent_from_hint": ("例：代表取締役 山田太郎", "e.g. 代表取締役 山田太郎 (Representative Director)"),
    "consent_document_ref": ("同意書の文書番号またはファイル参照（必須）", "Consent document number or file reference (required)"),
    "consent_shared": ("協議会と共有する情報（一つ以上）", "Information the council may read (at least one)"),
    "consent_shared_hint": ("選ばなかった区分は協議会には表示されません。「予兆と根拠」がなければ予兆は一切表示されません。",
                            "Categories not chosen are never shown to the council; without Warning signs it sees no sign at all."),
    "consent_category_financials": ("財務", "Financials"),
    "consent_category_repayment": ("返済状況", "Repayment"),
    "consent_category_accounts": ("口座動向", "Account activity"),
    "consent_category_signs": ("予兆と根拠", "Warning signs and their evidence"),
    "consent_record": ("本人同意の記録", "The owner's consent on record"),
    "consent_recorded_by": ("同意を記録した担当者", "Recorded by"),
    "consent_missing": ("本人同意の記録（取得方法・同意者・文書番号・共有する情報）がないため、協議会へ紹介できません。先に同意を記録してください。",
                        "The owner's consent is not on record in full (method, from whom, document, shared information): "
                        "the case cannot be referred until it is recorded."),
    "council_of_referral": ("紹介先の協議会", "Council referred to"),
    "council_notice": ("紹介先の決め方", "How the council was chosen"),
    "prefecture": ("所在都道府県", "Prefecture"),
    "consent_withdrawn_on": ("本人同意の撤回日", "Consent withdrawn on"),
    "withdraw_consent": ("本人同意の撤回を記録する", "Record the withdrawal of consent"),
    "withdraw_consent_lead": ("事業者が同意を撤回した場合に記録します。協議会からは直ちに見えなくなり、協議会には「紹介が取り下げられた」ことだけが伝わります。",
                              "Record it when the owner withdraws consent: the council stops seeing the case at once "
                              "and is told only that the referral was withdrawn."),
    "withdraw_done": ("本人同意の撤回を記録しました。協議会からは見えなくなりました。", "Withdrawal recorded: the council no longer sees the case."),
    "withdrawn_referrals": ("取り下げられた紹介", "Withdrawn referrals"),
    "withdrawn_referrals_lead": ("事業者が本人同意を撤回したため、次の紹介は取り下げられました。内容は表示されません。",
                                 "The owner withdrew consent: these referrals were withdrawn. Their content is no longer shown."),
    "withdrawn_row": ("案件 #{id}（紹介日 {referred}）— {withdrawn} に取り下げ", "Case #{id} (referred {referred}) — withdrawn {withdrawn}"),
    "reason_consent_withdrawn": ("本人同意の撤回", "Consent withdrawn"),
    "kpi_by_council": ("協議会別", "By council"),
    "kpi_by_council_lead": ("都道府県ごとの協議会に紹介された件数と結果です。", "Referrals to each prefecture's council and their outcomes."),
    "col_council": ("協議会", "Council"),
    "confirm": ("実行", "Confirm"),
    # transitions (button labels)
    "do_under_review": ("検討を開始する", "Start review"),
    "do_consent_obtained": ("本人同意を記録する", "Record the owner's consent"),
    "do_referred": ("協議会へ紹介する", "Refer to the council"),
    "do_accepted": ("受け付ける（事前相談）", "Accept (pre-consultation)"),
    "do_declined": ("受け付けない", "Decline"),
    "do_dismissed": ("対象外とする", "Dismiss"),
    "do_snoozed": ("保留する", "Snooze"),
    # council
    "council_title": ("協議会受付", "Council intake"),
    "council_lead": ("本人同意を得て紹介された案件です。内容を確認し、受付または不受理を記録してください。",
                     "Cases referred with the owner's consent. Review each and record acceptance or decline."),
    "accept": ("受付", "Accept"),
    "decline": ("不受理", "Decline"),
    "decline_reason": ("不受理の理由", "Reason for declining"),
    "manual_referral": ("士業・その他からの紹介を登録", "Register a referral from a professional or other route"),
    "manual_referral_lead": ("金融機関・保証協会以外（士業など）から持ち込まれた相談を登録します。",
                             "Record a referral that came from outside the banks and guarantee associations."),
    "register": ("登録", "Register"),
    "manual_registered": ("紹介を登録しました（案件 #{id}）。", "Referral registered (case #{id})."),
    # KPIs
    "kpis_title": ("紹介KPI", "Referral KPIs"),
    "kpis_lead": ("協議会への紹介を、協議会の報告と同じ区分で集計します。",
                  "Referrals to the council, counted the way the council reports them."),
    "kpi_total": ("紹介件数", "Referrals"),
    "kpi_median_days": ("最初の予兆から紹介までの日数（中央値）", "Median days from first sign to referral"),
    "kpi_days": ("{days}日", "{days} {days|day|days}"),
    "kpi_by_route": ("紹介経路別", "By route"),
    "kpi_by_phase": ("支援フェーズ別（紹介時）", "By support phase (at referral)"),
    "kpi_by_quarter": ("年度四半期別（4月始まり）", "By fiscal-year quarter (April start)"),
    "kpi_by_outcome": ("結果別", "By outcome"),
    "kpi_route_quarter": ("四半期 × 紹介経路", "Quarter × route"),
    "kpi_decisions": ("審査担当の判断（年度四半期別）", "Reviewers' decisions by fiscal-year quarter"),
    "kpi_decisions_lead": ("対応履歴（監査ログ）に記録された担当者の判断の件数です。夜間処理による変更と協議会の手動登録は含みません。",
                           "Decisions reviewers recorded in the audit log; the nightly job's moves and the council's "
                           "hand-registered referrals are not counted."),
    "kpi_dismiss_reasons": ("対象外の理由", "Reasons for dismissal"),
    "kpi_early_share": ("早期着手率", "Early share"),
    "kpi_early_lead": ("劣化事象が起きる前に案件化できた割合", "Cases opened before any deterioration event"),
    "kpi_early_count": ("{early}件 / {opened}件", "{early} of {opened} {opened|case|cases}"),
    "kpi_early_numerator": ("分子：劣化事象が起きる前に案件化した案件 {n}件", "Numerator: cases opened before any deterioration event, {n}"),
    "kpi_early_denominator": ("分母：夜間処理で案件化した案件 {n}件", "Denominator: cases the nightly flags opened, {n}"),
    "kpi_early_definition": ("夜間処理で案件化した案件のうち、その事業者に劣化事象（条件変更、延滞90日以上、代位弁済、破綻・法的整理、要管理先以下への格下げ）が案件化の日までに一度も起きていなかった案件の割合です。事象の発生日は各夜のエビデンスが報告した最も早い日で、後から届いた報告も含みます。期間を指定したときは、検知日（案件化の日）がその期間内の案件を数えます。協議会が手動で登録した紹介は含みません。",
                             "Of the cases the nightly flags opened, the share whose business had had no deterioration event "
                             "(restructuring, 90+ days past due, subrogation, bankruptcy or legal proceedings, downgrade to "
                             "special attention or worse) by the day the case was opened. An event's date is the earliest "
                             "any night's evidence reported, late reports included. With a date range, cases are counted by "
                             "the day they were opened. Referrals the council registered by hand are not counted."),
    "kpi_early_unknown": ("劣化事象の報告を記録する前に案件化した{n}件は、分母・分子とも含みません。",
                          "{n} {n|case|cases} opened before the nights reported deterioration events {n|is|are} left out of both."),
    "decision_dismissed": ("対象外", "Dismissed"),
    "decision_snoozed": ("保留（ウォッチ）", "Snoozed (watch)"),
    "decision_consent_obtained": ("同意取得", "Consent obtained"),
    "decision_referred": ("協議会へ紹介", "Referred"),
    "count": ("件数", "Count"),
    "share": ("構成比", "Share"),
    "quarter": ("四半期", "Quarter"),
    "total": ("合計", "Total"),
    "since": ("紹介日（から）", "Referred from"),
    "until": ("紹介日（まで）", "Referred until"),
    "none_yet": ("まだありません。", "None yet."),
    # exports
    "exports_title": ("エクスポート", "Exports"),
    "exports_lead": ("あなたの権限で閲覧できる案件だけが出力されます。CSVはExcelでそのまま開けるUTF-8（BOM付き）です。",
                     "Only cases you may see are exported. The CSV is UTF-8 with a BOM, which Excel opens directly."),
    "export_worklist": ("ワークリスト（未完了の案件、優先順）", "Worklist (open cases, by priority)"),
    "export_council": ("協議会紹介一覧（紹介済・受付・不受理）", "Council referral list (referred, accepted, declined)"),
    # user administration
    "admin_users_title": ("ユーザー管理", "User management"),
    "admin_users_lead": ("担当者のアカウントを作成・無効化します。無効化したユーザーは直ちにログアウトされ、対応履歴は残ります。",
                         "Create and disable accounts. A disabled user is logged out at once; their history stays."),
    "users_list": ("ユーザー一覧", "Users"),
    "display_name": ("表示名", "Display name"),
    "display_name_hint": ("省略時はユーザー名", "The username if left empty"),
    "role": ("役割", "Role"),
    "active": ("状態", "Status"),
    "user_active": ("有効", "Active"),
    "user_disabled_badge": ("無効", "Disabled"),
    "no_institution": ("所属なし（管理者）", "None (administrator)"),
    "create_user": ("ユーザーを作成", "Create a user"),
    "create_user_lead": ("金融機関の審査担当は銀行に、分析担当は信用保証協会に、受付担当は協議会に所属します。管理者は所属なしです。",
                         "Bank reviewers belong to a bank, analysts to a guarantee association, intake to the council; "
                         "administrators to none."),
    "initial_password": ("初期パスワード（初回ログイン時に変更が必要）", "Initial password (changed at the first login)"),
    "password_hint": ("{n}文字以上", "At least {n} {n|character|characters}"),
    "password_confirm": ("初期パスワード（確認）", "Confirm the password"),
    "create": ("作成", "Create"),
    "disable": ("無効化", "Disable"),
    "disable_confirm": ("{username} を無効化する", "Disable {username}"),
    "you": ("（あなた）", "(you)"),
    "user_institution": ("所属機関", "Institution"),
    "last_admin_note": ("最後の管理者", "Last administrator"),
    "user_created": ("ユーザー {username} を作成しました。", "User {username} created."),
    "user_disabled": ("ユーザー {username} を無効化しました。", "User {username} disabled."),
    "username_taken": ("ユーザー名 {username} は既に使われています。", "The username {username} is taken."),
    "password_too_short": ("パスワードは{n}文字以上にしてください。", "The password must be at least {n} {n|character|characters}."),
    "password_mismatch": ("確認用パスワードが一致しません。", "The two passwords differ."),
    "disable_refused": ("このユーザーは無効化できません。", "This user cannot be disabled."),
    "change_role": ("役割を変更", "Change role"),
    "change_role_button": ("{username} の役割を変更する", "Change the role of {username}"),
    "role_changed": ("ユーザー {username} の役割を「{role}」に変更しました。", "User {username} is now {role}."),
    "role_change_refused": ("この役割変更はできません。", "This role change is not allowed."),
    "password_reset": ("パスワード再設定", "Reset password"),
    "password_reset_lead": ("ログイン中のセッションはすべて終了し、ユーザーは次回ログイン時に自分のパスワードへの変更を求められます。",
                            "Every session of the account ends, and the user must choose a password of their own "
                            "at the next login."),
    "password_reset_button": ("{username} のパスワードを再設定する", "Reset the password of {username}"),
    "password_reset_done": ("ユーザー {username} のパスワードを再設定しました（セッション{n}件を終了）。次回ログイン時に変更が必要です。",
                            "The password of {username} is reset ({n} {n|session|sessions} ended); they must change "
                            "it at the next login."),
    "password_reset_refused": ("このパスワード再設定はできません。", "This password reset is not allowed."),
    "password_pending": ("パスワード変更待ち", "Password change pending"),
    "password_pending_help": ("管理者または運用担当者が設定したパスワードのままです。次回ログイン時に変更が必要です。",
                              "The password is still the one an administrator or the operator set; the user must "
                              "change it at the next login."),
    # account audit log
    "admin_audit_title": ("アカウント監査ログ", "Account audit log"),
    "admin_audit_lead": ("ログイン（成功・失敗・制限）、ログアウト、ユーザーの作成・無効化、役割とパスワードの変更の記録です。新しい順。記録は変更・削除できません。",
                         "Logins (succeeded, failed, throttled), logouts, users created or disabled, role and "
                         "password changes, newest first. Rows cannot be changed or deleted."),
    "audit_at": ("日時", "When"),
    "audit_event": ("操作", "Event"),
    "audit_actor": ("実行者", "By"),
    "audit_subject": ("対象ユーザー", "Account"),
    "audit_address": ("接続元", "Client address"),
    "audit_detail": ("詳細", "Detail"),
    "audit_older": ("さらに古い記録", "Older entries"),
    "event_login_succeeded": ("ログイン成功", "Login succeeded"),
    "event_login_failed": ("ログイン失敗", "Login failed"),
    "event_login_throttled": ("ログイン制限", "Login throttled"),
    "event_logout": ("ログアウト", "Logout"),
    "event_user_created": ("ユーザー作成", "User created"),
    "event_user_disabled": ("ユーザー無効化", "User disabled"),
    "event_role_changed": ("役割変更", "Role changed"),
    "event_password_changed": ("パスワード変更", "Password changed"),
    # misc
    "none": ("—", "—"),
}
# The council's support after an accepted referral (signals/queue/stage_terms.py, webapp/routes_stages.py)
MESSAGES.update({f"stage_{stage.value}": labels for stage, labels in STAGE_LABELS.items()})
MESSAGES.update({f"measure_{measure.value}": labels for measure, labels in MEASURE_LABELS.items()})
MESSAGES.update({
    "support_title": ("協議会の支援（受付後）", "The council's support (after acceptance)"),
    "support_lead_council": ("受付後の支援の段階を日付とともに記録します。記録は追記のみで、訂正は新しい記録で行います。メモは協議会内部のもので、紹介元の機関には表示されません。",
                             "Record each stage of the support after acceptance, with its date. Entries are append-only: a correction is a new entry. Notes are the council's own and are not shown to the referring institution."),
    "support_lead_institution": ("紹介先の協議会が記録した支援の段階と日付です（協議会のメモは表示されません）。",
                                 "The stages and dates the council recorded (the council's notes are not shown)."),
    "support_none": ("まだ記録はありません。", "Nothing recorded yet."),
    "support_current": ("現在の段階", "Current stage"),
    "col_stage": ("段階", "Stage"),
    "col_stage_on": ("日付", "Date"),
    "col_measures": ("施策", "Measures"),
    "col_council_note": ("協議会メモ", "Council note"),
    "stage_record": ("次の段階を記録", "Record the next stage"),
    "stage_choose": ("段階", "Stage"),
    "stage_date": ("日付", "Date"),
    "stage_measures": ("施策（該当するもの）", "Measures (where they apply)"),
    "stage_measures_hint": ("経営改善支援：405事業・早期経営改善計画・Vアップ／事業再生支援：プレ再生・再生計画・DDS・DES・債権放棄",
                            "Management improvement: 405, early plan, V-up; revitalization: pre-revitalization, plan, DDS, DES, debt waiver"),
    "stage_note": ("協議会メモ（任意・紹介元には非表示）", "Council note (optional, not shown to the referrer)"),
    "stage_submit": ("記録する", "Record"),
    "stage_recorded": ("「{stage}」を記録しました。", "Recorded: {stage}."),
    "stage_ended": ("この案件の支援は終了しています。", "The support of this case has ended."),
    # the council's report on the KPI page (signals/queue/stage_kpis.py)
    "kpi_council_report": ("協議会の支援実績", "The council's support report"),
    "kpi_council_report_lead": ("受付した紹介のその後を、協議会の報告様式（年度四半期は4月始まり）で集計します。相談件数は受付日、支援完了件数は完了日の四半期に数えます。上の期間指定に関わらず全期間を集計します。",
                                "What followed the accepted referrals, in the council's report format (fiscal quarters start in April). Consultations are counted in the quarter of acceptance, completions in the quarter of completion; over all dates, whatever the range chosen above."),
    "kpi_consultations": ("相談件数（持込経路別・四半期別）", "Consultations by route and quarter"),
    "kpi_completions": ("支援完了件数（フェーズ別・四半期別）", "Completed support by phase and quarter"),
    "kpi_durations": ("所要期間（中央値・月）", "Time taken (median, months)"),
    "kpi_duration_col": ("区間", "Interval"),
    "kpi_median_months": ("中央値（月）", "Median (months)"),
    "kpi_months": ("{months}か月", "{months} {months|month|months}"),
    "kpi_count_n": ("件数", "Count"),
    "kpi_council_breakdown": ("協議会別の内訳", "Breakdown by council"),
    "kpi_council_consultations": ("相談件数", "Consultations"),
    "kpi_council_completions": ("支援完了件数", "Completions"),
    "kpi_no_phase": ("フェーズ未記録", "No phase recorded"),
    # did it work? (signals/followup.py)
    "followup_title": ("支援の後、予兆とリスクはどう変わったか", "After the support: how did the signs and risk change?"),
    "followup_caveat": ("これは観察に基づく比較であり、支援の因果効果ではありません。紹介された事業者は、紹介されなかった事業者と（本人同意、金融機関の判断、協議会の受付など）データに表れない点で異なります。比較対象は、検知時の推奨フェーズとリスク帯が同じで紹介されなかった事業者で、同じフェーズ・リスク帯の紹介先が検知から計画合意までに要した期間（中央値）の後から追跡します。",
                        "This is an observational comparison, not a causal effect of the support: referred businesses differ from the others in ways the data do not show (the owner's consent, the bank's choice, the council's acceptance). The comparison group is businesses flagged in the same recommended phase and risk band that were never referred, followed from their flag date plus the median time from flag to plan agreed of the referred businesses of that phase and band."),
    "followup_horizon": ("計画合意から{months}か月後", "{months} {months|month|months} after the plan agreed"),
    "followup_group": ("群", "Group"),
    "followup_referred": ("紹介・計画合意", "Referred, plan agreed"),
    "followup_comparison": ("比較対象（紹介なし）", "Comparison (not referred)"),
    "followup_businesses": ("事業者数", "Businesses"),
    "followup_followed": ("追跡できた数", "Followed"),
    "followup_p_before": ("平均リスク（起点）", "Mean risk (start)"),
    "followup_p_after": ("平均リスク（時点）", "Mean risk (then)"),
    "followup_signs_before": ("平均予兆数（起点）", "Mean signs (start)"),
    "followup_signs_after": ("平均予兆数（時点）", "Mean signs (then)"),
    "followup_share_signs": ("予兆ありの割合（時点）", "Share with signs (then)"),
    "followup_not_yet": ("計画合意から{months}か月後のデータはまだありません（データの期間が短いため）。{n}社が対象になる予定です。",
                         "{months} {months|month|months} after the plan agreed is not available yet (the data do not reach that far); {n} {n|business|businesses} will be followed."),
    "followup_too_few": ("対象が少なすぎるため数値は表示しません（各群{min}社以上が必要。紹介・計画合意 {r}社、比較対象 {c}社を追跡）。",
                         "Too few businesses to show a figure (each group needs at least {min}; followed: referred {r}, comparison {c})."),
    "followup_council_no_comparison": ("協議会には本人同意のない事業者のデータを出さないため、比較対象（紹介されなかった事業者）は集計値でも表示しません。比較は各金融機関・保証協会と管理者の画面にあります。",
                                       "A council reads no business without its owner's consent, so the comparison group (businesses not referred) is not shown here, not even as averages; the institutions and the administrator see the comparison."),
    "followup_unavailable": ("ウェアハウスを読めないため表示できません。", "The warehouse cannot be read, so this is not shown."),
})
# The inbox's kinds of item: Japanese from the data layer (signals/queue/notifications.py), as for states.
MESSAGES.update({f"inbox_kind_{kind.value}": (KIND_JA[kind], KIND_EN[kind]) for kind in KIND_JA})

# Value labels not owned by the data layer in English.
STATE_EN: dict[State, str] = {
    State.NEW: "New",
    State.UNDER_REVIEW: "Under review",
    State.CONSENT_OBTAINED: "Consent obtained",
    State.REFERRED: "Referred to council",
    State.ACCEPTED: "Accepted (pre-consultation)",
    State.DECLINED: "Declined",
    State.DISMISSED: "Dismissed",
    State.SNOOZED: "Snoozed",
}
ROLE_EN: dict[Role, str] = {
    Role.BANK_REVIEWER: "Bank reviewer",
    Role.CGA_ANALYST: "Guarantee association analyst",
    Role.COUNCIL_INTAKE: "Council intake",
    Role.ADMIN: "Administrator",
}
ROUTE_EN: dict[Route, str] = {
    Route.BANK: "Bank",
    Route.CGA: "Credit guarantee association",
    Route.PROFESSIONAL: "Professional (士業)",
    Route.OTHER: "Other",
}
# Short state names for tabs and tight columns.
STATE_SHORT: dict[State, tuple[str, str]] = {
    State.REFERRED: ("紹介済", "Referred"),
    State.ACCEPTED: ("受付", "Accepted"),
    State.CONSENT_OBTAINED: ("同意取得済", "Consent"),
}
BANDS: dict[str, tuple[str, str]] = {
    "low": ("低", "Low"),
    "watch": ("要注意", "Watch"),
    "high": ("高", "High"),
    "very_high": ("極めて高い", "Very high"),
}
TRIGGERS: dict[str, tuple[str, str]] = {
    "critical_sign": ("重大予兆", "Critical sign"),
    "score": ("スコア", "Score"),
    "both": ("重大予兆＋スコア", "Critical sign + score"),
}
# The catalog's severity of a sign (features/catalog.py Severity), a scale of its own: a sign
# rated 高 is not thereby a critical sign (重大予兆, which the flag policy lists in
# signals.critical_signs and which opens a case on its own), so the top level is not called 重大.
SEVERITIES: dict[str, tuple[str, str]] = {
    "critical": ("最高", "Highest"),
    "high": ("高", "High"),
    "medium": ("中", "Medium"),
    "low": ("低", "Low"),
}
FAMILIES: dict[str, tuple[str, str]] = {
    "financials": ("財務", "Financials"),
    "repayment": ("返済", "Repayment"),
    "accounts": ("口座", "Accounts"),
    "guarantee": ("保証", "Guarantee"),
    "qualitative": ("定性", "Qualitative"),
    "cross_institution": ("複数機関", "Cross-institution"),
}
KPI_OUTCOMES_EN = {STATE_JA[s]: STATE_EN[s] for s in (State.REFERRED, State.ACCEPTED, State.DECLINED)}
KPI_ROUTES_EN = {ROUTE_JA[r]: ROUTE_EN[r] for r in Route}
KPI_PHASES_EN = {p.ja: p.en for p in PHASES.values()} | {"未設定": "Not set"}
KPI_STAGES_EN = {ja: en for ja, en in STAGE_LABELS.values()} | {NO_PHASE: "No phase recorded"}


def normalize_lang(value: str | None) -> str | None:
    value = (value or "").strip().lower()[:2]
    return value if value in LANGS else None


# An English plural: "{n|case|cases}" becomes "case" when the value n is 1, else "cases".
_PLURAL = re.compile(r"\{(\w+)\|([^|{}]*)\|([^|{}]*)\}")


def _is_one(value: object) -> bool:
    try:
        return float(str(value).replace(",", "")) == 1
    except ValueError:
        return False


def translate(lang: str, key: str, **values: object) -> str:
    ja, en = MESSAGES[key]
    text = en if lang == "en" else ja
    text = _PLURAL.sub(lambda m: m.group(2) if _is_one(values.get(m.group(1))) else m.group(3), text)
    return text.format(**values) if values else text


def _pick(lang: str, pair: tuple[str, str] | None, fallback: str) -> str:
    if pair is None:
        return fallback
    return pair[1] if lang == "en" else pair[0]


def state_label(lang: str, state: State | str) -> str:
    state = State(state)
    return STATE_EN[state] if lang == "en" else STATE_JA[state]


def state_short_label(lang: str, state: State | str) -> str:
    state = State(state)
    return _pick(lang, STATE_SHORT.get(state), state_label(lang, state))


def role_label(lang: str, role: Role | str | None) -> str:
    if role is None:
        return ""
    role = Role(role)
    return ROLE_EN[role] if lang == "en" else ROLE_JA[role]


def route_label(lang: str, route: Route | str | None) -> str:
    if route is None:
        return translate(lang, "none")
    route = Route(route)
    return ROUTE_EN[route] if lang == "en" else ROUTE_JA[route]


def band_label(lang: str, band: str | None) -> str:
    if not band:
        return translate(lang, "none")
    return _pick(lang, BANDS.get(band), band)


def trigger_label(lang: str, trigger: str | None) -> str:
    if not trigger:
        return translate(lang, "none")
    return _pick(lang, TRIGGERS.get(trigger), trigger)


def severity_label(lang: str, severity: str | None) -> str:
    return _pick(lang, SEVERITIES.get(severity or ""), severity or "")


def family_label(lang: str, family: str | None) -> str:
    return _pick(lang, FAMILIES.get(family or ""), family or "")


def phase_label(lang: str, phase: str | None) -> str:
    if not phase or phase not in PHASES:
        return translate(lang, "phase_unset") if not phase else phase
    return PHASES[phase].en if lang == "en" else PHASES[phase].ja


@lru_cache(maxsize=1)
def _catalog() -> dict[str, tuple[str, str]]:
    try:
        from features.catalog import indicators
    except ImportError:  # the app can run without the feature package
        return {}
    return {i.id: (i.ja, i.en) for i in indicators().values()}


def indicator_label(lang: str, indicator_id: str, name_ja: str | None = None, name_en: str | None = None) -> str:
    """An indicator's name: from the evidence if it carries one, else from the catalog, else its id."""
    ja, en = _catalog().get(indicator_id, (None, None))
    ja, en = name_ja or ja, name_en or en
    name = en if lang == "en" else ja
    return name or ja or en or indicator_id


_QUARTER = re.compile(r"^FY(\d{4}) Q([1-4])$")


REASON_EN: dict[str, str] = {
    DismissReason.TEMPORARY.value: "Temporary cause",
    DismissReason.ALREADY_SUPPORTED.value: "Already being handled",
    DismissReason.DATA_ERROR.value: "Data error",
    DismissReason.HEALTHY.value: "Business is sound",
    DismissReason.OTHER.value: "Other (described)",
}


def reason_label(lang: str, code: str | None) -> str:
    """A reason code's label (lifecycle.DISMISS_REASON_JA for Japanese); None: no code recorded."""
    if code is None:
        return translate(lang, "reason_uncoded")
    if code == "consent_withdrawn":  # a withdrawal of consent's audit row (signals/queue/consent.py)
        return translate(lang, "reason_consent_withdrawn")
    if code.startswith("document_"):  # a document request's audit row (signals/queue/documents.py)
        return translate(lang, f"reason_{code}")
    ja = next((label for reason, label in DISMISS_REASON_JA.items() if reason.value == code), None)
    return (REASON_EN.get(code) if lang == "en" else ja) or ja or code


def kpi_label(lang: str, japanese: str) -> str:
    """A KPI key in the language: the data layer keys its KPIs by Japanese labels, and its
    quarters as "FY2026 Q1" (2026年度第1四半期 in Japanese)."""
    quarter = _QUARTER.match(japanese)
    if quarter:
        return japanese if lang == "en" else f"{quarter.group(1)}年度第{quarter.group(2)}四半期"
    if lang != "en":
        return japanese
    return KPI_ROUTES_EN.get(japanese) or KPI_PHASES_EN.get(japanese) or KPI_OUTCOMES_EN.get(japanese) or KPI_STAGES_EN.get(japanese) or japanese


class Translator:
    """Bound to one request's language; templates call it as `t("key", name=value)`."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    def state(self, state: State | str) -> str:
        return state_label(self.lang, state)

    def state_short(self, state: State | str) -> str:
        return state_short_label(self.lang, state)

    def role(self, role: Role | str | None) -> str:
        return role_label(self.lang, role)

    def route(self, route: Route | str | None) -> str:
        return route_label(self.lang, route)

    def band(self, band: str | None) -> str:
        return band_label(self.lang, band)

    def trigger(self, trigger: str | None) -> str:
        return trigger_label(self.lang, trigger)

    def severity(self, severity: str | None) -> str:
        return severity_label(self.lang, severity)

    def severity_badge(self, severity: str | None) -> str:
        """A sign's severity labelled as such: 重要度「高」 / High severity."""
        return translate(self.lang, "severity_badge", level=severity_label(self.lang, severity))

    def family(self, family: str | None) -> str:
        return family_label(self.lang, family)

    def phase(self, phase: str | None) -> str:
        return phase_label(self.lang, phase)

    def indicator(self, indicator_id: str, name_ja: str | None = None, name_en: str | None = None) -> str:
        return indicator_label(self.lang, indicator_id, name_ja, name_en)

    def reason(self, code: str | None) -> str:
        return reason_label(self.lang, code)

    def kpi(self, japanese: str) -> str:
        return kpi_label(self.lang, japanese)

    def stage(self, stage: str) -> str:
        return translate(self.lang, f"stage_{stage}") if f"stage_{stage}" in MESSAGES else stage

    def measure(self, measure: str) -> str:
        return translate(self.lang, f"measure_{measure}") if f"measure_{measure}" in MESSAGES else measure
