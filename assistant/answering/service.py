"""The answering service: one question in, one honest answer with citations out.

``/v1/ask``, ``assistant ask`` and ``assistant eval`` all call :meth:`Assistant.ask`:

validate → detect language → hybrid retrieve → confidence → follow-up? → abstain? → list or
single answer, composed from corpus fields → remember the cited projects for the session.

Example::

    assistant = Assistant.load(get_settings())
    result = assistant.ask("子どもが熱を出して保育園に行けない")
    result.citations[0].project_id   # 'sick-child-care'
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from assistant.answering import answers
from assistant.answering.answers import Citation, ResidentTown
from assistant.answering.intents import ListCues, TurnCues, asks_eligibility
from assistant.answering.language import Language, detect, japanese_kanji_only
from assistant.answering.names import ProjectNames
from assistant.answering.negation import NegationReader
from assistant.answering.sessions import Conversation, ConversationStore, MemoryConversations
from assistant.answering.towns import TownFinder
from assistant.answering.validation import validate_question, validate_session_id, validate_town
from assistant.config import Settings
from assistant.corpus import Corpus, Project
from assistant.errors import ConfigError
from assistant.memory import give_back_free_memory
from assistant.model.backends import make_embedder
from assistant.model.embeddings import Embedder
from assistant.search.confidence import FEATURES, features, follow_features
from assistant.search.index import SearchIndex, load_index
from assistant.search.params import RetrievalParams, load_params
from assistant.search.readings import CorpusReadings, mostly_kana
from assistant.search.retrievers import DenseRetriever, HybridRetriever, LexicalRetriever, Retrieval, one_blas_thread
from assistant.search.tokens import TextAnalyzer, normalize


class Candidate(BaseModel):
    """A project in the retrieval ranking (shown for staff and the eval, not to residents)."""

    project_id: str
    score: float


class AskResult(BaseModel):
    """The answer to one question (the ``/v1/ask`` response body)."""

    answer: str
    abstained: bool = Field(description="True when nothing in the corpus answers the question.")
    lang: str = Field(description="The question's language (ISO 639-1; ja-easy for やさしい日本語; und if unknown).")
    answer_lang: str = Field(description="The answer's language: one of the twelve answer languages.")
    citations: list[Citation] = Field(description="The projects the answer comes from, best first.")
    confidence: float = Field(description="Estimated probability that a project answers the question (0–1).")
    follow_up: bool = Field(default=False, description="Resolved to a project of the conversation's earlier turns.")
    list_answer: bool = Field(default=False, description="The question asked for several projects.")
    aspect: str | None = Field(default=None, description="where / who / when / cost / contact / apply, if asked.")
    town: str | None = Field(
        default=None, description="The resident's town as understood (a member municipality, or a place outside)."
    )
    session_id: str | None = None
    answer_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, description="Identifies this answer, for POST /v1/feedback."
    )
    suggestions: list[str] = Field(default_factory=list, description="Follow-up questions the resident can tap.")
    candidates: list[Candidate] = Field(default_factory=list, description="Top of the retrieval ranking.")
    elapsed_ms: float = 0.0


_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])|(?<=[.;])\s+")
# Where one need ends and another begins inside a sentence: 「…のかと、あと…」, ", and also", ", và".
_CLAUSE_END = re.compile(
    r"(?<=[とかしてがで])、|、(?=あと|それと|それから|また|ついでに|さらに|それに|あとは)|"
    r",\s*(?=and |also |plus |và |e |y |at |dan |и )|\s+(?=and also |and i'd also |and i would also )|；|;"
)
MIN_SEGMENT_CHARS = 6
SEGMENTED_FROM_CHARS = 30
"""A message this long is also read clause by clause, for a second need (「…のかと、あと…」)."""
LONG_MESSAGE_CHARS = 60
"""A message this long is also read sentence by sentence, for a need buried in its middle."""
MAX_SEGMENTS = 8
_REQUEST_BOUNDARY = re.compile(r"(?<=[。！？!?])\s*|\s*:\s+|：|\s+[-–—]\s+")
MAX_REQUEST_CHARS = 40
"""A sentence asking for another language is short (「すみません、英語で。」, "Perdón, en español:")."""
ANSWER_CACHE_SIZE = 4096
"""Answers kept for questions asked again with no conversation behind them (a burst of the same question)."""


def sentences(text: str) -> list[str]:
    """The sentences of a long message (a LINE message with the need in its middle); [] for a short one."""
    if len(text) < LONG_MESSAGE_CHARS:
        return []
    parts = [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]
    parts = [part for part in parts if len(part) >= MIN_SEGMENT_CHARS]
    return parts[:MAX_SEGMENTS] if len(parts) >= 2 else []


def segments(text: str) -> list[str]:
    """The sentences and clauses of a longer message, where a second need may stand; [] for a short one."""
    if len(text) < SEGMENTED_FROM_CHARS:
        return []
    parts = [
        clause.strip()
        for sentence in _SENTENCE_END.split(text)
        for clause in _CLAUSE_END.split(sentence)
        if clause and clause.strip()
    ]
    parts = [part for part in parts if len(part) >= MIN_SEGMENT_CHARS]
    return parts[:MAX_SEGMENTS] if len(parts) >= 2 else []


def request_ends(text: str) -> list[tuple[str, str]]:
    """The first and the last sentence of a message of several, each with the rest of the message.

    Where a resident puts a request about the answer's language (「すみません、英語で。それは…」,
    "…, can all four towns use it? In English please"). Only ends short enough to be such a request.
    """
    bounds = [m.span() for m in _REQUEST_BOUNDARY.finditer(text) if 0 < m.start() and m.end() < len(text)]
    if not bounds:
        return []
    (lead_end, rest_start), (rest_end, tail_start) = bounds[0], bounds[-1]
    ends = [(text[:lead_end].strip(), text[rest_start:].strip()), (text[tail_start:].strip(), text[:rest_end].strip())]
    return [(end, rest) for end, rest in dict.fromkeys(ends) if end and rest and len(end) <= MAX_REQUEST_CHARS]


@dataclass
class Evidence:
    """One question's retrievals: the whole message, each of its sentences, and the most confident.

    In a conversation, also the question read together with the conversation's project (``context``).
    """

    whole: Retrieval
    confidence: float
    parts: list[tuple[Retrieval, float]]
    """Each sentence of a long message: where a buried need is found."""
    clauses: list[tuple[Retrieval, float]] = field(default_factory=list)
    """Each sentence and clause: where a second need is found."""
    context: tuple[Retrieval, float] | None = None
    ends: dict[str, tuple[Retrieval, float]] = field(default_factory=dict)
    """The message's first and last sentences, when they may ask for another language."""

    def main(self, threshold: float) -> tuple[Retrieval, float]:
        """The retrieval the answer rests on: the whole message when it is confident on its own,
        else its most confident sentence (a need buried in a long message)."""
        if self.confidence >= threshold or not self.parts:
            return self.whole, self.confidence
        return max([(self.whole, self.confidence), *self.parts], key=lambda pair: pair[1])


@dataclass
class Turn:
    """A question as read (:meth:`Assistant.read_turn`): its retrievals, and the answer language it asks for."""

    text: str
    """The question: the message, or its rest after a sentence asking for another language."""
    query: str
    language: Language
    evidence: Evidence
    requested: str | None = None
    """The answer language a sentence of the message asks for (「英語で」 → ``en``), if any."""
    only_language: bool = False
    """The whole message asks for another language, and nothing else."""


def _in_form(requested: str, written: Language) -> str:
    """「にほんごで ききます」 asks for Japanese in easy Japanese: answered in easy Japanese."""
    return "ja-easy" if requested == "ja" and written.answer == "ja-easy" else requested


@dataclass
class _Decision:
    projects: list[int]
    abstained: bool
    follow_up: bool = False
    list_answer: bool = False
    grouped: bool = False


class Assistant:
    """The loaded corpus, index, model and parameters, and the one code path that answers."""

    def __init__(
        self,
        settings: Settings,
        corpus: Corpus,
        index: SearchIndex,
        embedder: Embedder,
        params: RetrievalParams,
        *,
        analyzer: TextAnalyzer | None = None,
        conversations: ConversationStore | None = None,
    ) -> None:
        one_blas_thread()
        self.settings = settings
        self.corpus = corpus
        self.index = index
        self.embedder = embedder
        self.params = params
        self.analyzer = analyzer or TextAnalyzer()
        self.conversations: ConversationStore = conversations or MemoryConversations(ttl=settings.session_ttl_seconds)
        self.retriever = HybridRetriever(
            index=index,
            dense=DenseRetriever(index=index, embedder=embedder),
            lexical=LexicalRetriever(index=index, analyzer=self.analyzer),
            fusion=params.fusion,
            lexical_weight=params.lexical_weight,
            rrf_k=params.rrf_k,
        )
        if params.confidence is not None and tuple(params.confidence.features) != FEATURES:
            raise ConfigError(
                "the retrieval parameters were tuned with other confidence features "
                f"({', '.join(params.confidence.features)}): run `assistant tune`"
            )
        self._projects: list[Project] = [corpus.projects[pid] for pid in index.project_ids]
        self._position = {pid: i for i, pid in enumerate(index.project_ids)}
        self._small_talk = {topic.id for topic in corpus.out_of_scope if topic.small_talk}
        self._language_requests = {topic.id for topic in corpus.out_of_scope if topic.language_request}
        self._language_names = [
            (_term_pattern(word), code) for code, pack in corpus.languages.items() for word in pack.called
        ]
        self._categories = self._category_terms()
        self.towns = TownFinder(corpus.zone, self.analyzer)
        self.negations = NegationReader(self.analyzer)
        self.list_cues = ListCues(corpus.languages.values())
        self.turn_cues = TurnCues(corpus.languages.values())
        self.names = ProjectNames(corpus, index.project_ids)
        self.readings = CorpusReadings.from_texts(
            (t for p in self._projects for t in [p.name, p.summary, p.summary_easy, *p.aliases, *p.examples]),
            self.analyzer,
        )
        # (question, channel town) -> the answer and the town it remembered; only for a question with no
        # conversation behind it, whose answer depends on nothing else. One per loaded index version.
        self._answers: OrderedDict[tuple[str, str | None], tuple[AskResult, str | None]] = OrderedDict()
        self._answers_lock = threading.Lock()

    @classmethod
    def load(cls, settings: Settings, *, params: RetrievalParams | None = None) -> Assistant:
        """Load the current index version with the corpus it was built from, and set up the model (lazily).

        The corpus answered from is the version's own copy, not the working ``corpus/`` folder:
        a server serves exactly what was published.

        Raises:
            ConfigError: the retrieval parameters file is missing, invalid, or tuned on the other precision's vectors.
            IndexError_: no index, or a damaged one.
            StaleIndexError: the index was built with another model or backend, or by an older assistant.
            ModelError: the ONNX backend is configured but the model's export is missing.
        """
        embedder = make_embedder(settings)  # cheap: the model loads on warm_up or first use
        # Before the index: a bad parameters file fails first.
        params = params or load_params(settings.retrieval_params, backend=embedder.backend)
        index = load_index(settings.index_dir, model=settings.model_spec, backend=embedder.backend)
        return cls(settings, index.corpus, index, embedder, params)

    def with_index(self, index: SearchIndex) -> Assistant:
        """A new assistant over another index version, sharing this one's model, tokenizer, parameters and
        conversations (so a live index switch keeps every session and loads no second model)."""
        return Assistant(
            self.settings,
            index.corpus,
            index,
            self.embedder,
            self.params,
            analyzer=self.analyzer,
            conversations=self.conversations,
        )

    def warm_up(self) -> None:
        """Load the model and the dictionary, and run one question through, so the first resident waits no longer."""
        self.embedder.warm_up()
        self.analyzer.warm_up()
        self.retriever.search("病児保育")
        detect("byouji hoiku wa doko desu ka", parser=self.analyzer.parse)
        give_back_free_memory()

    @property
    def ready(self) -> bool:
        """True once the model is loaded."""
        return self.embedder.loaded

    # ------------------------------------------------------------------ answering

    def ask(self, question: object, session_id: str | None = None, town: str | None = None) -> AskResult:
        """Answer one question.

        Args:
            question: the resident's question, as typed.
            session_id: an opaque conversation id; follow-ups within it resolve to earlier projects,
                and the town once said is remembered.
            town: the resident's town when the channel knows it (a selector, a quick reply).

        Returns:
            The answer, its citations (best first) and how it was reached.

        Raises:
            QuestionError: the question is empty, too long, not text or not encodable (see
                :func:`~assistant.answering.validation.validate_question`), or the session id is unusable.
        """
        started = time.perf_counter()
        text = validate_question(question, self.settings.max_question_chars)
        session_id = validate_session_id(session_id)
        town = validate_town(town)
        conversation = (self.conversations.get(session_id) if session_id else None) or Conversation()
        fresh = not conversation.projects and not conversation.lang and conversation.town is None
        if fresh and (reused := self._reuse((text, town), started, session_id, conversation)) is not None:
            return reused
        language = detect(text, parser=self.analyzer.parse)
        if language.answer == "zh" and japanese_kanji_only(text) and self.names.named(text).any():
            # 「富岡地域自立支援協議会事業」: a project's Japanese name in kanji alone is Japanese.
            language = Language("ja", "ja")
        query = language.kana or text
        if (respelled := self.names.respelled(query)) != normalize(query):  # ふぁみさぽ → ファミサポ
            query = respelled
        # A town said to be home in this question wins; then the channel's; then the conversation's;
        # then a town merely named in this question.
        unnamed, unnamed_query = self.names.without(text), self.names.without(query)
        stated = self.towns.resident(unnamed, said=True) or self.towns.resident(unnamed_query, said=True)
        named_town = self.towns.resident(unnamed) or self.towns.resident(unnamed_query)
        resident = stated or self.towns.parse(town) or self.towns.parse(conversation.town) or named_town
        stated = stated or named_town
        asked = self.turn_cues.aspect(text) or self.turn_cues.aspect(query)
        previous = self._position.get(conversation.projects[0]) if conversation.projects else None
        earlier = [self._position[p] for p in conversation.projects[1:] if p in self._position]
        turn = self.read_turn(text, query, language, previous)
        if turn.text != text:  # the rest of a message that also asked for another language
            text, query, language, asked = turn.text, turn.query, turn.language, self.turn_cues.aspect(turn.text)
        evidence, japanese = turn.evidence, turn.language.japanese
        if previous is not None and turn.only_language:
            # The message only asks for another language: the same answer, in it.
            decision = _Decision([previous], abstained=False, follow_up=True)
        else:
            decision = self._decide(text, query, evidence, previous, asked, stated, resident, japanese)
            if not decision.list_answer:
                mentioned = ([previous] if previous is not None else []) + earlier
                decision = self._returning(text, query, evidence, mentioned) or decision

        lang = turn.requested or self._answer_language(text, language, conversation, decision.follow_up)
        retrieval, confidence = evidence.main(self.params.threshold)
        chosen = [self._projects[i] for i in decision.projects]
        if decision.abstained:
            body = answers.abstention(self.corpus, lang)
        elif decision.list_answer:
            body = answers.list_answer(self.corpus, chosen, lang, town=resident, grouped=decision.grouped)
        else:
            body = answers.project_answer(self.corpus, chosen, lang, aspect=asked, town=resident)
        citations = [
            answers.citation(self.corpus, project, lang, float(retrieval.fused[i]), resident)
            for i, project in zip(decision.projects, chosen, strict=True)
        ]
        remembered = resident.name if resident else None
        result = AskResult(
            answer=body,
            abstained=decision.abstained,
            lang=language.question,
            answer_lang=lang,
            citations=citations,
            confidence=round(confidence, 4),
            follow_up=decision.follow_up,
            list_answer=decision.list_answer,
            aspect=asked,
            town=resident.name if resident else None,
            session_id=session_id,
            suggestions=[] if decision.abstained or decision.list_answer else answers.suggestions(self.corpus, lang),
            candidates=[
                Candidate(project_id=self.index.project_ids[i], score=round(float(retrieval.fused[i]), 4))
                for i in retrieval.top(5)
            ],
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        if session_id:
            self._remember(session_id, conversation, result, remembered)
        if fresh:
            with self._answers_lock:
                self._answers[(text, town)] = (result, remembered)
                while len(self._answers) > ANSWER_CACHE_SIZE:
                    self._answers.popitem(last=False)
        return result

    def kept(self, question: object, town: str | None = None) -> AskResult | None:
        """The answer kept for this question asked outside any conversation, as a new answer (its own
        ``answer_id``), or None when none is kept: what :meth:`ask` would return, without the model.

        It touches neither the model nor the store (a dictionary lookup after validation), so the API
        looks here on its event loop before it hands a question to a thread.

        Raises:
            QuestionError: as :meth:`ask`.
        """
        started = time.perf_counter()
        text = validate_question(question, self.settings.max_question_chars)
        return self._reuse((text, validate_town(town)), started, None, Conversation())

    def _reuse(
        self, key: tuple[str, str | None], started: float, session_id: str | None, conversation: Conversation
    ) -> AskResult | None:
        known = self._answered(key)
        if known is None:
            return None
        result, remembered = known
        if session_id:
            self._remember(session_id, conversation, result, remembered)
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        # A new answer to this resident: its own id (feedback and the record are per answer).
        update = {"session_id": session_id, "elapsed_ms": elapsed, "answer_id": uuid.uuid4().hex}
        return result.model_copy(update=update)

    def _answered(self, key: tuple[str, str | None]) -> tuple[AskResult, str | None] | None:
        """The answer already given to this question with no conversation behind it, if kept."""
        with self._answers_lock:
            known = self._answers.get(key)
            if known is not None:
                self._answers.move_to_end(key)
            return known

    def _remember(self, session_id: str, conversation: Conversation, result: AskResult, town: str | None) -> None:
        cited = [c.project_id for c in result.citations]
        keep = self.settings.session_turns * 3
        self.conversations.put(session_id, conversation.after(cited, result.answer_lang, town, keep=keep))

    def clear_answers(self) -> None:
        """Forget the kept answers (the bench and the tests time answers made from scratch)."""
        with self._answers_lock:
            self._answers.clear()

    def read_turn(self, text: str, query: str, language: Language, previous: int | None) -> Turn:
        """Retrieve for a question; in a conversation, also read it with the conversation's project,
        and find a sentence that asks for another language (「すみません、英語で。」, "Perdón, en español:").

        Such a sentence is not a need: the answer comes in the language it names, and the rest of
        the message, if any, is the question. ``assistant tune`` reads its conversation turns here
        too, so the follow-up model is fitted on what :meth:`ask` sees.
        """
        if previous is None:
            return Turn(text, query, language, self.evidence(query, japanese=language.japanese))
        subject = self._projects[previous].name
        ends = request_ends(query) if query == text else []
        evidence = self.evidence(query, japanese=language.japanese, subject=subject, ends=[end for end, _ in ends])
        if asked_for := self.asks_for_language(text, evidence.whole):
            return Turn(text, query, language, evidence, _in_form(asked_for, language), only_language=True)
        for end, rest in ends:
            if asked_for := self.asks_for_language(end, evidence.ends[end][0]):
                said = detect(rest, parser=self.analyzer.parse)
                evidence = self.evidence(rest, japanese=said.japanese, subject=subject)
                return Turn(rest, rest, said, evidence, _in_form(asked_for, said))
        return Turn(text, query, language, evidence)

    def evidence(
        self, query: str, *, japanese: bool, subject: str | None = None, ends: list[str] | None = None
    ) -> Evidence:
        """Retrieve for the whole question, its sentences and clauses, and read with ``subject`` (the
        conversation's project; and for ``ends``, the sentences that may ask for another language).

        All the texts go to the model together (one burst: see ``QueryBatcher``).
        """
        parts, clauses = sentences(query), segments(query)
        # What a Japanese question says it is not about (「公民館じゃなくて体育館」, 「熱がないときに」) is
        # also searched without it. That reading is the question when it is confident on its own of
        # another project (the phrase ruled out pulled the search to its own project), or of the same
        # one and more confident than the whole (「公民館じゃなくて体育館を予約したい」 no longer also cites
        # the community centre); otherwise the whole says more (「車がないときに病院に行く方法は？」).
        affirmed = self.negations.without(query) if japanese else query
        context = f"{subject} {query}" if subject is not None else None
        affirmed_context = f"{subject} {affirmed}" if subject is not None else None
        # A sentence that only says where the resident lives (「岡本地区に住んでいます。」, "I live in
        # Kanra.") is not part of the need: the town's name would pull the search towards projects that
        # name towns. Such a sentence is one that states a home and, without its place names, is
        # confident of no project; it is never where the need is, and when the rest of the message
        # is confident on its own, the rest is the need. The forms needed to tell are searched in
        # the same burst.
        home = {t: self.towns.without(t) for t in parts if self.towns.resident(t, said=True)}
        rest = " ".join(t for t in parts if t not in home) if home and len(home) < len(parts) else None
        bare_whole = self.towns.without(query) if self.towns.resident(query, said=True) else None
        extra = [*home.values(), *([rest] if rest else []), *([bare_whole] if bare_whole else [])]
        ends = ends or []
        readings = [query, *([context] if context else [])]
        if affirmed != query:
            readings += [affirmed, *([affirmed_context] if affirmed_context else [])]
        texts = list(dict.fromkeys([*readings, *parts, *clauses, *extra, *ends]))
        scored = self._scored(texts, japanese)
        whole, confidence = scored[query]
        if (
            affirmed != query
            and scored[affirmed][1] >= self.params.threshold
            and (scored[affirmed][0].order[0] != whole.order[0] or scored[affirmed][1] > confidence)
        ):
            whole, confidence = scored[affirmed]
            context = affirmed_context
        # Kana written with the corpus's words (「すぽーつの きょうしつ」 → 「スポーツの 教室」): the model
        # reads kanji better than kana. Searched only when the kana question is not confident (one
        # more model call for those few); the more confident of the two readings is the question.
        written = self.readings.spelled(query) if confidence < self.params.threshold and mostly_kana(query) else query
        if written != query:
            scored |= self._scored([written], japanese)
            if scored[written][1] > confidence:
                whole, confidence = scored[written]
        only_home = [t for t, bare in home.items() if self._says_only_home(scored, bare, rest)]
        if rest and len(only_home) == len(home):
            # The need is the rest of the message; saying where one lives does not make it less sure.
            whole, confidence = scored[rest][0], max(confidence, scored[rest][1])
        elif bare_whole and not home and scored[bare_whole][1] >= self.params.threshold:
            whole, confidence = scored[bare_whole]
        parts = [t for t in parts if t not in only_home]
        return Evidence(
            whole,
            confidence,
            parts=[scored[t] for t in parts],
            clauses=[scored[t] for t in clauses],
            context=scored[context] if context else None,
            ends={end: scored[end] for end in ends},
        )

    def asks_for_language(self, text: str, retrieval: Retrieval) -> str | None:
        """The answer language a sentence asks for (「すみません、英語で」, "Perdón, en español"), or None.

        A request names a language (``called`` in ``corpus/languages/``; the last one named: 「日本語
        じゃなくて英語で」) and is closer to the requests of a ``language_request`` topic of
        ``corpus/out_of_scope.yaml`` than to anything else, any resident's question about a project
        included: "Do I need to speak Japanese?" names a language but asks something else.
        """
        if (
            retrieval.negative_topic not in self._language_requests
            or retrieval.examples is None
            or retrieval.negative <= float(retrieval.examples.max())
        ):
            return None
        folded = normalize(text)
        named = [(m.end(), m.end() - m.start(), code) for p, code in self._language_names for m in p.finditer(folded)]
        return max(named)[2] if named else None

    def _says_only_home(self, scored: dict[str, tuple[Retrieval, float]], bare: str, rest: str | None) -> bool:
        """A sentence naming the resident's home says nothing else when, without its place names, it is
        confident of no project and less sure of one than the rest of the message is."""
        if not bare.strip():
            return True
        alone = scored[bare][1]
        return alone < self.params.threshold and (rest is None or scored[rest][1] >= alone)

    def _scored(self, texts: list[str], japanese: bool) -> dict[str, tuple[Retrieval, float]]:
        """Each text's retrieval (with the projects it names) and confidence, embedded together."""
        scored: dict[str, tuple[Retrieval, float]] = {}
        for text, retrieval in zip(texts, self.retriever.search_many(texts), strict=True):
            named = replace(retrieval, named=self.names.named(text))
            scored[text] = (named, self.confidence(named, japanese=japanese))
        return scored

    @staticmethod
    def _answer_language(text: str, language: Language, conversation: Conversation, follow_up: bool) -> str:
        """The question's language; in a conversation, a too-short-to-tell question keeps the conversation's.

        A short kana-only follow-up (「それはどこ？」) keeps the conversation's ordinary Japanese: such a
        question says nothing about the asker's reading level; a spaced-out one (「それは どこ ですか」)
        does, and gets やさしい日本語.
        """
        previous = conversation.lang
        if not language.sure and previous:
            return previous
        if follow_up and language.answer == "ja-easy" and previous == "ja" and len(text.split()) == 1:
            return "ja"
        return language.answer

    def confidence(self, retrieval: Retrieval, *, japanese: bool) -> float:
        """P(some project answers this), from the tuned model; the top dense score if none is tuned."""
        if self.params.confidence is None:
            return float(retrieval.dense[retrieval.order[0]])
        return self.params.confidence.probability(features(retrieval, japanese=japanese))

    def _decide(
        self,
        text: str,
        query: str,
        evidence: Evidence,
        previous: int | None,
        asked: str | None,
        stated: ResidentTown | None,
        resident: ResidentTown | None,
        japanese: bool,
    ) -> _Decision:
        params = self.params
        retrieval, confidence = evidence.main(self.params.threshold)
        confident = confidence >= params.threshold
        if self._about_elsewhere(text, stated):
            return _Decision([], abstained=True)
        # A category named in kana (「でんしゃや タクシーの じぎょう」) counts as in the corpus's writing; one
        # ruled out (「子育てじゃなくて介護の事業を全部」) is not named.
        affirmed = self.negations.without(text) if japanese else text
        named = self.named_categories(affirmed) or self.named_categories(self.readings.spelled(query))
        listing = self.list_cues.asks_for_list(text, category=bool(named), town=stated is not None)
        if query != text:  # romaji: the kana form reads like Japanese
            listing = listing or self.list_cues.asks_for_list(query, category=bool(named), town=stated is not None)
        if previous is not None and (self.turn_cues.switches(text) or self.turn_cues.switches(query)):
            previous = None  # 「話変わるけど…」: the resident says this turn does not continue the last one
        in_conversation = previous is not None
        if (
            resident is not None
            and not named
            and self._asks_what_town_can_use(text, query, confident, japanese, in_conversation)
        ):
            covering = [i for i, p in enumerate(self._projects) if resident.covered_by(p)]
            if not covering:
                return _Decision([], abstained=True)
            return _Decision(covering, abstained=False, list_answer=True, grouped=True)
        if (
            previous is not None
            and not listing
            and not named
            and self._asks_for_own_town(text, query, retrieval, stated, previous, japanese)
        ):
            return _Decision([previous], abstained=False, follow_up=True)
        if previous is not None and not listing and self._follows(text, query, evidence, previous, asked):
            return _Decision([previous], abstained=False, follow_up=True)
        # A named category makes a list even when the search is unsure (「子育ての事業を全部教えて」 is
        # close to no one project) only when the question asks for several projects or services.
        # Naming a category and a kind of service (「制服のおさがりを譲ってもらえる学校の制度ってある？」)
        # asks whether one exists; a category and a word for several (「障害者控除には何が必要？」,
        # 「返礼品の一覧はどこ？」) may ask something else.
        if listing and (confident or named and any(self.list_cues.asks_for_projects(f) for f in {text, query})):
            return _Decision(self._list_projects(named, retrieval), abstained=False, list_answer=True)
        if not confident:
            return _Decision([], abstained=True)
        top = retrieval.order[0]
        best = retrieval.fused[top]
        related = [i for i in retrieval.order[1:3] if retrieval.fused[i] >= best - params.related_margin]
        others = [r.order[0] for r, c in evidence.clauses if c >= params.threshold and r.order[0] != top]
        # Every project the question names by name (「ファミリーサポートセンターと病児保育の違いは？」).
        by_name = [i for i in retrieval.order if retrieval.named is not None and retrieval.named[i] and i != top]
        chosen = list(dict.fromkeys([top, *by_name, *others, *related]))[:3]
        return _Decision(chosen, abstained=False)

    def _asks_what_town_can_use(
        self, text: str, query: str, confident: bool, japanese: bool, in_conversation: bool
    ) -> bool:
        """What can residents of my town use: asks for several projects, or what can be used, naming none.

        A question naming a project (「下仁田町でも病児保育は使える？」) is about that project instead,
        and in a conversation "can I use it?" is about the conversation's project. A question with a
        topic of its own once the places are taken out (「木の家具を富岡で処分してもらえる制度も使える？」)
        asks about that topic, not for the town's list (confident, and the meaning and word searches
        agree on its project); a town's name alone only pulls the search
        towards projects that name towns. (A district that is also a project's alias, 岡本地区, names
        where the resident lives, not the project.)
        """
        bare = self.towns.without(query)
        if self.names.named(bare).any() or self.names.named(self.towns.without(text)).any():
            return False
        topical: list[bool] = []

        def has_topic() -> bool:  # searched only when a cue needs it: one more model call
            if not topical:
                alone, confidence = self.evidence(bare, japanese=japanese).main(self.params.threshold)
                # A topic: confident, and meaning and words agree on one project. Generic words
                # ("joint projects", 制度) spread over many projects and the two searches disagree.
                agree = alone.lexical.max() > 0 and int(alone.dense.argmax()) == int(alone.lexical.argmax())
                topical.append(bool(bare.strip()) and confidence >= self.params.threshold and agree)
            return topical[0]

        for form in dict.fromkeys([text, query]):
            hits = self.list_cues.read(form)
            # A word asking for several counts beside a word for the services themselves or for using them.
            if hits.japanese_list or hits.several and (hits.services or hits.usable):
                return True
            if hits.services and hits.usable and not has_topic():
                return True
            if (hits.services or hits.usable and not in_conversation) and not confident:
                return True
        return False

    def _asks_for_own_town(
        self, text: str, query: str, retrieval: Retrieval, stated: ResidentTown | None, previous: int, japanese: bool
    ) -> bool:
        """「うちは下仁田町なんですが、対象になりますか？」: in a conversation, the resident names their town and
        asks whether they may use, naming no project, and without the town's name the question has no
        topic of its own: the subject elided is the conversation's project. (The town's name alone would
        pull it to a project that names towns, like the shared taxi.)"""
        if stated is None or (retrieval.named is not None and retrieval.named.any()):
            return False
        forms = list(dict.fromkeys([text, query]))
        if not any(asks_eligibility(form) or self.list_cues.read(form).usable for form in forms):
            return False
        bare = self.towns.without(query)
        if not bare.strip():
            return True
        alone, confidence = self.evidence(bare, japanese=japanese).main(self.params.threshold)
        return confidence < self.params.threshold or alone.order[0] == previous

    def follow_signals(
        self, text: str, query: str, evidence: Evidence, previous: int, asked: str | None
    ) -> npt.NDArray[np.float64]:
        """The follow-up model's features for one turn (:func:`~assistant.search.confidence.follow_features`);
        ``assistant tune`` fits the model on exactly these."""
        assert evidence.context is not None
        retrieval, confidence = evidence.main(self.params.threshold)
        return follow_features(
            retrieval,
            confidence,
            *evidence.context,
            previous,
            refers=self.turn_cues.refers_back(text),
            aspect=asked is not None,
            length=len(text),
        )

    def _returning(self, text: str, query: str, evidence: Evidence, earlier: list[int]) -> _Decision | None:
        """「さっきのシステムの話に戻るけど…」: a turn that goes back to an earlier topic of the conversation
        resolves to the project of the conversation it is closest to: going back means one of them
        (the last turn's too: after a refusal, 「さっきの講座」 is the course asked about before it).
        So does a question choosing between them (「熱があるときはどっちに頼めばいいの？」)."""
        if not earlier:
            return None
        forms = dict.fromkeys([text, query])
        if not any(self.turn_cues.returns(f) or self.turn_cues.chooses(f) for f in forms):
            return None
        retrieval, _ = evidence.main(self.params.threshold)
        best = max(earlier, key=lambda i: float(retrieval.fused[i]))
        return _Decision([best], abstained=False, follow_up=True)

    def _follows(self, text: str, query: str, evidence: Evidence, previous: int, asked: str | None) -> bool:
        """Whether the question depends on the conversation's project rather than standing on its own.

        Decided from the retrieval evidence (:func:`~assistant.search.confidence.follow_features`): the
        question's confidence on its own against its confidence read together with the conversation's
        project, how much content of its own it carries, and whether it is closer to a topic no project
        covers. The model is fitted on the tuning conversations (``assistant tune``).
        """
        retrieval, confidence = evidence.main(self.params.threshold)
        if evidence.context is None:
            return False
        if asked is None and not self.turn_cues.refers_back(text) and self._closes(retrieval, evidence.parts):
            return False  # thanks or goodbye, asking nothing (「ありがとう！料金は？」 asks, and may follow)
        context, with_context = evidence.context
        model = self.params.follow_up
        if model is None:  # untuned: the same evidence, read by hand
            if confidence >= self.params.threshold:
                return retrieval.order[0] == previous and (self.turn_cues.refers_back(text) or asked is not None)
            return context.order[0] == previous and with_context >= self.params.threshold
        x = self.follow_signals(text, query, evidence, previous, asked)
        return model.probability(x) >= self.params.follow_threshold

    def _closes(self, main: Retrieval, parts: list[tuple[Retrieval, float]]) -> bool:
        """「ありがとうございました」, "ok thanks, have a nice day!": the message (``main``), and each of its
        sentences, is closer to a greeting or thanks (``small_talk`` topics in ``corpus/out_of_scope.yaml``)
        than to any resident's question about a project. It closes the conversation; it asks nothing about it."""
        return all(
            r.negative_topic in self._small_talk and r.examples is not None and r.negative > float(r.examples.max())
            for r in [main, *(r for r, _ in parts)]
        )

    def _about_elsewhere(self, text: str, stated: ResidentTown | None) -> bool:
        """The question asks about another municipality's services, which no joint project answers.

        - A place outside the zone named as where the service is (「前橋市の病児保育」), with no place of
          the zone named: yes.
        - A resident outside the zone (「高崎に住んでいます」) asking about the zone's services (naming a
          place of the zone, or asking whether they may use one): no, and the answer says the project
          is for the member towns' residents. Asking how to do something where they live: yes.
        - A place named as where the resident came from, or a surname: no.
        """
        in_zone = self.towns.names_member(text)
        mentions = self.towns.places_outside(text)
        if any(m.role == "service" for m in mentions) and not in_zone:
            return True
        if stated is not None and not stated.member:
            return not (in_zone or asks_eligibility(text))
        return False

    # ------------------------------------------------------------------ list questions

    def _category_terms(self) -> list[tuple[re.Pattern[str], list[int]]]:
        """(pattern, project positions) for each policy item and agreement: its core name and keywords."""
        terms: list[tuple[re.Pattern[str], list[int]]] = []
        suffixes = ("の充実", "の推進", "の利用促進", "の維持及び整備", "の共同実施")
        for item in self.corpus.zone.items():
            members = [i for i, p in enumerate(self._projects) if p.policy_item == item.name]
            for word in [item.name, self.corpus.category(item.name, "en"), *item.keywords]:
                terms.append((_term_pattern(word), members))
            for agreement in item.agreements:
                core = agreement.name
                for suffix in suffixes:
                    core = core.removesuffix(suffix)
                members = [i for i, p in enumerate(self._projects) if p.agreement == agreement.name]
                for word in [core, *agreement.keywords]:
                    terms.append((_term_pattern(word), members))
        return [(pattern, members) for pattern, members in terms if members]

    def named_categories(self, text: str) -> list[int]:
        """Projects of every category the question names (子育て支援, transport …), in table order."""
        question = normalize(text)
        return sorted({i for pattern, members in self._categories if pattern.search(question) for i in members})

    def _list_projects(self, named: list[int], retrieval: Retrieval) -> list[int]:
        """Every project a list question asks for: the named categories' (``named``), or all close to the best."""
        if named:
            chosen = sorted(named, key=retrieval.order.index)
        else:
            best = retrieval.fused[retrieval.order[0]]
            chosen = [i for i in retrieval.order if retrieval.fused[i] >= best - self.params.list_margin]
        return chosen[: self.params.max_list]


def _term_pattern(word: str) -> re.Pattern[str]:
    """Latin words match whole words only ("care" not in "scare"); Japanese matches as a substring."""
    term = normalize(word)
    if re.fullmatch(r"[a-z0-9 \-']+", term):
        return re.compile(rf"\b{re.escape(term)}\b")
    return re.compile(re.escape(term))
