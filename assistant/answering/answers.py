"""Answers composed from curated corpus fields: exact, in the asker's language, never invented.

Every sentence about a project is a corpus field (name, summary, summary_en, summary_easy,
status, municipalities, category, source) or a fixed sentence of this module (how to read
the status, "the document does not say", "ask your municipality"). Nothing is generated, so
nothing can be made up; where the corpus is silent (fees, hours, contacts) the answer says so.

Example::

    text = project_answer(corpus, [project], "ja", aspect="where")
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.answering.intents import Aspect
from assistant.answering.language import AnswerLang
from assistant.corpus import Corpus, Project

STATUS_LABEL: dict[str, dict[str, str]] = {
    "planned": {"ja": "計画段階", "ja-easy": "けいかく", "en": "Planned"},
    "under_discussion": {"ja": "協議・検討中", "ja-easy": "はなしあい ちゅう", "en": "Under discussion"},
    "in_operation": {"ja": "実施中", "ja-easy": "じっし ちゅう", "en": "In operation"},
}
STATUS_TEXT: dict[str, dict[str, str]] = {
    "planned": {
        "ja": "計画段階の事業です。資料は連携事業の「案」で、実施が決まったものではありません。",
        "ja-easy": "これは けいかくです。まだ きまった ことでは ありません。",
        "en": "Planned. This comes from a draft plan (案) of joint projects; it is not confirmed as available.",
    },
    "under_discussion": {
        "ja": "現在、協議・検討中です。実施が決まった事業ではありません。",
        "ja-easy": "いま、はなしあって いる ところです。まだ きまって いません。",
        "en": "Under discussion. The municipalities are still discussing it; it is not confirmed as available.",
    },
    "in_operation": {
        "ja": "実施中の事業です。",
        "ja-easy": "いま、おこなって います。",
        "en": "In operation.",
    },
}
ASK_MUNICIPALITY = {
    "ja": "お住まいの市町村（富岡市・下仁田町・南牧村・甘楽町）の窓口にお問い合わせください。",
    "ja-easy": "すんでいる 市・まち・むらの やくしょに きいて ください。",
    "en": "Please ask your municipality (Tomioka City, Shimonita Town, Nanmoku Village or Kanra Town).",
}
MORE_INFO = {
    "ja": "詳しい内容や問い合わせ先は資料に載っていません。",
    "ja-easy": "くわしい ことや といあわせさきは、この しりょうには ありません。",
    "en": "The document gives no further details or contact.",
}
NOT_IN_SOURCE: dict[Aspect, dict[str, str]] = {
    "contact": {
        "ja": "問い合わせ先は資料に載っていません。",
        "ja-easy": "といあわせさき（でんわばんごう など）は、しりょうに ありません。",
        "en": "The document gives no contact details.",
    },
    "cost": {
        "ja": "料金・費用は資料に載っていません。",
        "ja-easy": "おかね（りょうきん）の ことは、しりょうに ありません。",
        "en": "The document says nothing about fees or costs.",
    },
    "apply": {
        "ja": "申し込み・利用の方法は資料に載っていません。",
        "ja-easy": "もうしこみの しかたは、しりょうに ありません。",
        "en": "The document does not say how to apply or sign up.",
    },
    "when": {
        "ja": "開始時期・時間は資料に載っていません。",
        "ja-easy": "いつから・なんじから かは、しりょうに ありません。",
        "en": "The document gives no dates or hours.",
    },
    "where": {
        "ja": "場所について資料に書かれているのは、次の事業概要の内容だけです。",
        "ja-easy": "ばしょに ついては、つぎの せつめいに ある ことだけが わかって います。",
        "en": "About the place, the document says only what the summary below says.",
    },
    "who": {
        "ja": "対象について資料に書かれているのは、次の市町村の範囲だけです。",
        "ja-easy": "だれが つかえるかは、つぎの 市町村（しちょうそん）の ことだけが わかって います。",
        "en": "About who it is for, the document names only the municipalities below.",
    },
}
ONLY_EN_JA = {
    "vi": "Xin lỗi, câu trả lời chỉ có bằng tiếng Anh và tiếng Nhật.",
    "pt": "Desculpe, as respostas estão disponíveis apenas em inglês e japonês.",
    "zh": "抱歉，目前只提供英文和日文的回答。",
    "ko": "죄송합니다. 답변은 영어와 일본어로만 제공됩니다.",
}
DRAFT_TITLE = {"ja": "定住自立圏連携事業（案）", "en": "draft joint projects of the Tomioka-Kanra zone"}


class SourceRef(BaseModel):
    """Where a cited project is written."""

    document: str
    file: str
    page: int
    path: list[str]


class Citation(BaseModel):
    """A joint project an answer comes from."""

    project_id: str
    name: str
    name_en: str
    category_path: list[str]
    category_path_en: list[str]
    status: str
    status_label: str
    municipalities: list[str]
    source: SourceRef
    contact: str = ""
    url: str = ""
    score: float = Field(description="Fused retrieval score (higher is closer); for ordering, not a probability.")


def citation(corpus: Corpus, project: Project, lang: AnswerLang, score: float) -> Citation:
    """The citation of one project, with its status labelled in the answer's language."""
    return Citation(
        project_id=project.id,
        name=project.name,
        name_en=project.name_en,
        category_path=project.category_path,
        category_path_en=[corpus.zone.english(n) for n in project.category_path],
        status=project.status,
        status_label=STATUS_LABEL[project.status][lang],
        municipalities=project.municipalities,
        source=SourceRef(
            document=project.source.document,
            file=project.source.file,
            page=project.source.page,
            path=project.source.path,
        ),
        contact=project.contact,
        url=project.url,
        score=round(score, 4),
    )


def _municipalities(corpus: Corpus, project: Project, lang: AnswerLang) -> str:
    glossary = corpus.zone.glossary
    if lang == "ja":
        return "、".join(project.municipalities)
    if lang == "ja-easy":
        return "、".join(glossary[m].easy if m in glossary else m for m in project.municipalities)
    return ", ".join(f"{glossary[m].en} ({m})" if m in glossary else m for m in project.municipalities)


def _contact_lines(project: Project, lang: AnswerLang, aspect: Aspect | None) -> list[str]:
    lines = []
    if project.contact:
        lines.append({"ja": "問い合わせ先：", "ja-easy": "といあわせさき：", "en": "Contact: "}[lang] + project.contact)
    if project.url:
        lines.append({"ja": "詳しくは：", "ja-easy": "くわしくは：", "en": "More: "}[lang] + project.url)
    if not lines:
        gap = " " if lang == "en" else ""  # Japanese sentences follow each other without a space
        lines.append(
            ASK_MUNICIPALITY[lang] if aspect == "contact" else f"{MORE_INFO[lang]}{gap}{ASK_MUNICIPALITY[lang]}"
        )
    return lines


def _source_line(project: Project, lang: AnswerLang) -> str:
    page = project.source.page
    if lang == "en":
        return f"Source: 「{project.source.document}」 ({DRAFT_TITLE['en']}), page {page}"
    if lang == "ja-easy":
        return f"でどころ：「{project.source.document}」 {page}ページ"
    return f"出典：「{project.source.document}」{page}ページ"


def _aspect_line(project: Project, lang: AnswerLang, aspect: Aspect | None) -> str | None:
    if aspect is None:
        return None
    if aspect == "contact" and (project.contact or project.url):
        return None  # the contact lines below answer it
    if aspect == "when":
        return STATUS_TEXT[project.status][lang] + " " + NOT_IN_SOURCE["when"][lang]
    return NOT_IN_SOURCE[aspect][lang]


def _only_en_ja(lang: AnswerLang, question_lang: str) -> list[str]:
    """A line in the asker's own language saying answers come in English and Japanese only."""
    return [ONLY_EN_JA[question_lang]] if lang == "en" and question_lang in ONLY_EN_JA else []


def _name(project: Project, lang: AnswerLang) -> str:
    return f"{project.name_en} ({project.name})" if lang == "en" else f"「{project.name}」"


def _summary(project: Project, lang: AnswerLang) -> str:
    text = {"ja": project.summary, "ja-easy": project.summary_easy, "en": project.summary_en}[lang]
    return " ".join(line.strip() for line in text.splitlines() if line.strip()) if lang != "ja" else text


def project_answer(
    corpus: Corpus,
    projects: list[Project],
    lang: AnswerLang,
    *,
    aspect: Aspect | None = None,
    question_lang: str = "",
) -> str:
    """The answer about one project (``projects[0]``), naming up to two related ones after it."""
    main, related = projects[0], projects[1:3]
    intro = {
        "ja": f"{_name(main, lang)}についてご案内します。",
        "ja-easy": f"{_name(main, lang)}の ことを おしらせ します。",
        "en": f"{_name(main, lang)}",
    }[lang]
    lines = [*_only_en_ja(lang, question_lang), intro]
    lead = _aspect_line(main, lang, aspect)
    if lead:
        lines.append(lead)
    lines += ["", _summary(main, lang), ""]
    labels = {
        "ja": ("・状況：", "・対象：", "・分野：", "・"),
        "ja-easy": ("・いま：", "・どこの 人：", "", "・"),
        "en": ("• Status: ", "• Municipalities: ", "• Category: ", "• "),
    }[lang]
    lines.append(labels[0] + STATUS_TEXT[main.status][lang])
    lines.append(labels[1] + _municipalities(corpus, main, lang))
    if lang == "ja":
        lines.append(labels[2] + " › ".join(main.category_path))
    elif lang == "en":
        lines.append(labels[2] + " › ".join(corpus.zone.english(n) for n in main.category_path))
    lines.append(labels[3] + _source_line(main, lang))
    if related:
        names = {
            "ja": "関連する事業：" + "、".join(p.name for p in related),
            "ja-easy": "ほかに かんけい する もの：" + "、".join(p.name for p in related),
            "en": "Related: " + "; ".join(f"{p.name_en} ({p.name})" for p in related),
        }[lang]
        lines += ["", names]
    lines += ["", *_contact_lines(main, lang, aspect)]
    return "\n".join(lines).strip()


def list_answer(corpus: Corpus, projects: list[Project], lang: AnswerLang, *, question_lang: str = "") -> str:
    """The answer to a request for several projects: each with its status and summary."""
    head = {
        "ja": f"ご質問に当てはまる連携事業は次の{len(projects)}件です。",
        "ja-easy": f"あてはまる ものは {len(projects)}つ あります。",
        "en": f"{len(projects)} joint projects match your question:",
    }[lang]
    lines = [*_only_en_ja(lang, question_lang), head, ""]
    for number, project in enumerate(projects, 1):
        status = STATUS_LABEL[project.status][lang]
        title = f"{project.name_en} ({project.name})" if lang == "en" else project.name
        lines.append(f"{number}. {title} — {status}")
        lines.append(f"   {_summary(project, lang)}")
    source = projects[0].source.document
    lines += [
        "",
        {
            "ja": f"出典：「{source}」",
            "ja-easy": f"でどころ：「{source}」",
            "en": f"Source: 「{source}」 ({DRAFT_TITLE['en']})",
        }[lang],
        ASK_MUNICIPALITY[lang],
    ]
    return "\n".join(lines).strip()


def abstention(corpus: Corpus, lang: AnswerLang, *, question_lang: str = "") -> str:
    """The honest "not covered": no project answers this; ask the municipality; what can be asked."""
    items = corpus.zone.items()
    if lang == "ja":
        topics = "、".join(item.name for item in items)
        text = (
            "ご質問の内容は、富岡甘楽定住自立圏の連携事業（案）には見当たりませんでした。"
            f"{ASK_MUNICIPALITY['ja']}\nこの案内では、次の分野の連携事業についてお答えできます：{topics}。"
        )
    elif lang == "ja-easy":
        topics = "、".join(item.name_easy or item.name for item in items)
        text = (
            "ごめんなさい。その しつもんの こたえは、この あんないには ありません。"
            f"{ASK_MUNICIPALITY['ja-easy']}\nこたえられる こと：{topics}"
        )
    else:
        topics = ", ".join(item.name_en for item in items)
        text = (
            "I could not find this among the joint projects of the Tomioka-Kanra Settlement and Independence "
            f"Zone (a draft plan). {ASK_MUNICIPALITY['en']}\nI can answer about joint projects in: {topics}."
        )
    return "\n".join([*_only_en_ja(lang, question_lang), text])
