"""Every string of the staff page, in Japanese (first) and English: one table, so nothing is left untranslated."""

from __future__ import annotations

UI_LANGS = ("ja", "en")

STRINGS: dict[str, tuple[str, str]] = {
    # key: (Japanese, English)
    "title": ("職員ページ", "Staff page"),
    "app": ("富岡甘楽 連携事業アシスタント", "Tomioka-Kanra joint-services assistant"),
    "nav_overview": ("概要", "Overview"),
    "nav_questions": ("質問一覧", "Questions"),
    "nav_unanswered": ("未回答", "Unanswered"),
    "logout": ("ログアウト", "Log out"),
    "switch_lang": ("English", "日本語"),
    "login_title": ("職員ログイン", "Staff login"),
    "login_lead": (
        "管理キー（ASSISTANT_ADMIN_TOKEN）を入力してください。",
        "Enter the admin key (ASSISTANT_ADMIN_TOKEN).",
    ),
    "key": ("管理キー", "Admin key"),
    "login": ("ログイン", "Log in"),
    "login_wrong": ("管理キーが違います。", "That admin key is wrong."),
    "login_needed": ("ログインしてください。", "Please log in."),
    "off_title": ("職員ページは無効です", "The staff page is off"),
    "off_lead": (
        "管理キーが設定されていません。サーバーの環境変数 ASSISTANT_ADMIN_TOKEN に長いランダムな文字列を設定し、"
        "サーバーを再起動してください。例：",
        "No admin key is configured. Set the server's environment variable ASSISTANT_ADMIN_TOKEN to a long "
        "random string and restart the server. For example:",
    ),
    "csrf_failed": (
        "フォームの有効期限が切れました。ページを読み込み直してやり直してください。",
        "This form has expired. Reload the page and try again.",
    ),
    "today": ("今日", "Today"),
    "week": ("この{days}日間", "Last {days} days"),
    "questions_n": ("質問 {n} 件", "{n} questions"),
    "abstained_n": ("うち未回答 {n} 件", "{n} unanswered"),
    "by_channel": ("窓口別", "By channel"),
    "by_lang": ("言語別", "By language"),
    "channel": ("窓口", "Channel"),
    "lang": ("言語", "Language"),
    "count": ("件数", "Count"),
    "none_yet": ("まだありません。", "None yet."),
    "unanswered_top": ("答えられなかった質問（よくある順）", "Unanswered questions (most frequent first)"),
    "unanswered_lead": (
        "答えなかった質問と、確信度 {below} 未満で答えた質問です。似た質問はまとめています。",
        "Questions not answered, and answers given with confidence below {below}. Similar questions are grouped.",
    ),
    "groups_total": ("{questions} 件の質問、{groups} グループ", "{questions} questions in {groups} groups"),
    "times": ("{n} 回", "{n} times"),
    "last_asked": ("最後に聞かれた日時", "Last asked"),
    "unhelpful_title": ("「役に立たなかった」と評価された回答", "Answers marked unhelpful"),
    "per_project": ("事業ごとの件数", "Counts per project"),
    "project": ("事業", "Project"),
    "no_project": ("（回答なし）", "(no answer)"),
    "helpful": ("役に立った", "Helpful"),
    "unhelpful": ("役に立たなかった", "Unhelpful"),
    "comment": ("コメント", "Comment"),
    "asked_at": ("日時", "Asked at"),
    "question": ("質問", "Question"),
    "answer": ("回答した事業", "Answered with"),
    "confidence": ("確信度", "Confidence"),
    "feedback": ("評価", "Feedback"),
    "abstained": ("未回答", "Unanswered"),
    "answered": ("回答済み", "Answered"),
    "any": ("すべて", "Any"),
    "yes": ("はい", "Yes"),
    "no": ("いいえ", "No"),
    "since": ("開始日", "From"),
    "until": ("終了日", "To"),
    "text": ("質問の文字", "Text"),
    "filter": ("絞り込む", "Filter"),
    "reset": ("条件をクリア", "Clear"),
    "csv": ("CSV をダウンロード", "Download CSV"),
    "results": ("{total} 件中 {first}–{last} 件目", "{first}–{last} of {total}"),
    "no_results": ("条件に合う質問はありません。", "No question matches."),
    "prev": ("前へ", "Previous"),
    "next": ("次へ", "Next"),
    "bad_filter": ("絞り込み条件が正しくありません：{problem}", "A filter is not valid: {problem}"),
    "triage": ("振り分け", "Triage"),
    "triage_choose": ("事業を選ぶ…", "Choose a project…"),
    "triage_none": ("どの事業にも当たらない", "Not covered by any project"),
    "triage_save": ("評価用に記録", "Add to eval"),
    "triaged_as": ("振り分け済み：", "Triaged:"),
    "triage_follow_up": (
        "続きの質問のため振り分けできません（前の質問がないと意味が通じません）。",
        "A follow-up cannot be triaged: it needs the conversation before it.",
    ),
    "triage_done": ("{id} を {file} に記録しました。", "Wrote {id} to {file}."),
    "triage_missing": (
        "その質問は記録にありません（記録されるまで数秒かかることがあります）。",
        "That question is not in the record (recording can take a few seconds).",
    ),
    "triage_failed": ("振り分けできませんでした：{problem}", "Could not triage: {problem}"),
    "triage_help": (
        "振り分けた質問は {inbox} に評価用の質問として追加され、assistant eval --questions {inbox} で確認できます。",
        "Triaged questions go into {inbox} as eval questions; run them with assistant eval --questions {inbox}.",
    ),
    "masked_note": (
        "個人情報（電話番号・メール・住所など）は記録前に [電話番号] などに置き換えています。",
        "Personal data (phone numbers, e-mail, addresses …) is replaced by labels such as [電話番号] before storage.",
    ),
    "back": ("戻る", "Back"),
    "follow_up": ("続きの質問", "follow-up"),
}


def translate(key: str, ui: str, **values: object) -> str:
    """The string ``key`` in the page's language (``ja`` or ``en``), with ``{name}`` fields filled in."""
    text = STRINGS[key][UI_LANGS.index(ui)]
    return text.format(**values) if values else text
