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
import time
import uuid
from dataclasses import dataclass

from pydantic import BaseModel, Field

from assistant.answering import answers
from assistant.answering.answers import Citation
from assistant.answering.intents import aspect, is_list_request, refers_back
from assistant.answering.language import AnswerLang, detect
from assistant.answering.sessions import Conversation, ConversationStore, MemoryConversations
from assistant.answering.validation import validate_question, validate_session_id
from assistant.config import Settings
from assistant.corpus import Corpus, Project, load_corpus
from assistant.errors import ConfigError
from assistant.model.embeddings import SentenceTransformerEmbeddings
from assistant.search.confidence import FEATURES, features
from assistant.search.index import SearchIndex, load_index
from assistant.search.params import RetrievalParams, load_params
from assistant.search.retrievers import DenseRetriever, HybridRetriever, LexicalRetriever, Retrieval
from assistant.search.tokens import TextAnalyzer, normalize


class Candidate(BaseModel):
    """A project in the retrieval ranking (shown for staff and the eval, not to residents)."""

    project_id: str
    score: float


class AskResult(BaseModel):
    """The answer to one question (the ``/v1/ask`` response body)."""

    answer: str
    abstained: bool = Field(description="True when nothing in the corpus answers the question.")
    lang: str = Field(description="The question's language: ja, ja-easy, en, vi, pt, zh, ko or und.")
    answer_lang: str = Field(description="The answer's language: ja, ja-easy or en.")
    citations: list[Citation] = Field(description="The projects the answer comes from, best first.")
    confidence: float = Field(description="Estimated probability that a project answers the question (0–1).")
    follow_up: bool = Field(default=False, description="Resolved to the project of the session's previous turn.")
    list_answer: bool = Field(default=False, description="The question asked for several projects.")
    aspect: str | None = Field(default=None, description="where / who / when / cost / contact / apply, if asked.")
    session_id: str | None = None
    answer_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, description="Identifies this answer, for POST /v1/feedback."
    )
    candidates: list[Candidate] = Field(default_factory=list, description="Top of the retrieval ranking.")
    elapsed_ms: float = 0.0


@dataclass
class _Decision:
    projects: list[int]
    abstained: bool
    follow_up: bool
    list_answer: bool


class Assistant:
    """The loaded corpus, index, model and parameters, and the one code path that answers."""

    def __init__(
        self,
        settings: Settings,
        corpus: Corpus,
        index: SearchIndex,
        embedder: SentenceTransformerEmbeddings,
        params: RetrievalParams,
        *,
        analyzer: TextAnalyzer | None = None,
        conversations: ConversationStore | None = None,
    ) -> None:
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
        self._categories = self._category_terms()
        self._outside_places = [_term_pattern(place) for place in corpus.zone.outside_places]
        self._zone_places = [_term_pattern(place) for place in corpus.zone.zone_places]

    @classmethod
    def load(cls, settings: Settings, *, params: RetrievalParams | None = None) -> Assistant:
        """Load the corpus, check the current index fits it and the model, and set up the model (lazily).

        Raises:
            ConfigError: the retrieval parameters file is missing or invalid.
            CorpusError: the corpus does not validate.
            IndexError_: no index, or a damaged one.
            StaleIndexError: the index was built from another corpus or model.
        """
        params = params or load_params(settings.retrieval_params)  # first: a bad file fails before the index loads
        corpus = load_corpus(settings.corpus_dir)
        spec = settings.model_spec
        index = load_index(settings.index_dir, corpus_digest=corpus.digest, model=spec)
        embedder = SentenceTransformerEmbeddings(
            spec, threads=settings.torch_threads, batch_size=settings.embed_batch_size
        )
        return cls(settings, corpus, index, embedder, params)

    def warm_up(self) -> None:
        """Load the model and the dictionary, and run one question through, so the first resident waits no longer."""
        self.embedder.warm_up()
        self.analyzer.warm_up()
        self.retriever.search("病児保育")

    @property
    def ready(self) -> bool:
        """True once the model is loaded."""
        return self.embedder.loaded

    # ------------------------------------------------------------------ answering

    def ask(self, question: object, session_id: str | None = None) -> AskResult:
        """Answer one question.

        Args:
            question: the resident's question, as typed.
            session_id: an opaque conversation id; follow-ups within it resolve to earlier projects.

        Returns:
            The answer, its citations (best first) and how it was reached.

        Raises:
            QuestionError: the question is empty, too long, not text or not encodable (see
                :func:`~assistant.answering.validation.validate_question`), or the session id is unusable.
        """
        started = time.perf_counter()
        text = validate_question(question, self.settings.max_question_chars)
        session_id = validate_session_id(session_id)
        language = detect(text)
        retrieval = self.retriever.search(text)
        confidence = self.confidence(retrieval, japanese=language.answer != "en")
        asked = aspect(text)
        conversation = (self.conversations.get(session_id) if session_id else None) or Conversation()
        decision = self._decide(text, retrieval, confidence, conversation.projects, asked)

        lang = language.answer
        if decision.follow_up:
            lang = self._conversation_language(text, lang, conversation.lang)
        if decision.abstained:
            body = answers.abstention(self.corpus, lang, question_lang=language.question)
            citations: list[Citation] = []
        else:
            chosen = [self._projects[i] for i in decision.projects]
            if decision.list_answer:
                body = answers.list_answer(self.corpus, chosen, lang, question_lang=language.question)
            else:
                body = answers.project_answer(self.corpus, chosen, lang, aspect=asked, question_lang=language.question)
            citations = [
                answers.citation(self.corpus, self._projects[i], lang, float(retrieval.fused[i]))
                for i in decision.projects
            ]
        if session_id and citations:
            cited = [c.project_id for c in citations]
            keep = self.settings.session_turns * 3
            self.conversations.put(session_id, conversation.after(cited, lang, None, keep=keep))
        return AskResult(
            answer=body,
            abstained=decision.abstained,
            lang=language.question,
            answer_lang=lang,
            citations=citations,
            confidence=round(confidence, 4),
            follow_up=decision.follow_up,
            list_answer=decision.list_answer,
            aspect=asked,
            session_id=session_id,
            candidates=[
                Candidate(project_id=self.index.project_ids[i], score=round(float(retrieval.fused[i]), 4))
                for i in retrieval.top(5)
            ],
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    @staticmethod
    def _conversation_language(text: str, detected: AnswerLang, previous: str) -> AnswerLang:
        """A short kana-only follow-up (「それはどこ？」) keeps the conversation's Japanese form.

        Such a question says nothing about the asker's reading level; a spaced-out one
        (「それは どこ ですか」) does, and gets やさしい日本語.
        """
        if detected == "ja-easy" and previous == "ja" and len(text.split()) == 1:
            return "ja"
        return detected

    def confidence(self, retrieval: Retrieval, *, japanese: bool) -> float:
        """P(some project answers this), from the tuned model; the top dense score if none is tuned."""
        if self.params.confidence is None:
            return float(retrieval.dense[retrieval.order[0]])
        return self.params.confidence.probability(features(retrieval, japanese=japanese))

    def _decide(
        self, text: str, retrieval: Retrieval, confidence: float, recent: list[str], asked: str | None
    ) -> _Decision:
        params = self.params
        confident = confidence >= params.threshold
        top = retrieval.order[0]
        listing = is_list_request(text)
        if self._about_elsewhere(text):
            return _Decision([], abstained=True, follow_up=False, list_answer=False)
        previous = self._position.get(recent[0]) if recent else None
        if previous is not None and not listing:
            switches = confidence >= max(params.threshold, params.switch_threshold) and top != previous
            rank = retrieval.order.index(previous)
            if refers_back(text) or not switches and (asked is not None or rank < 3):
                return _Decision([previous], abstained=False, follow_up=True, list_answer=False)
        named = self.named_categories(text) if listing else []
        if listing and (confident or named):
            return _Decision(self._list_projects(named, retrieval), abstained=False, follow_up=False, list_answer=True)
        if not confident:
            return _Decision([], abstained=True, follow_up=False, list_answer=False)
        best = retrieval.fused[top]
        related = [i for i in retrieval.order[1:3] if retrieval.fused[i] >= best - params.related_margin]
        return _Decision([top, *related], abstained=False, follow_up=False, list_answer=False)

    def _about_elsewhere(self, text: str) -> bool:
        """The question names a place outside the zone and none inside it: another municipality's services."""
        question = normalize(text)
        outside = any(place.search(question) for place in self._outside_places)
        return outside and not any(place.search(question) for place in self._zone_places)

    # ------------------------------------------------------------------ list questions

    def _category_terms(self) -> list[tuple[re.Pattern[str], list[int]]]:
        """(pattern, project positions) for each policy item and agreement: its core name and keywords."""
        terms: list[tuple[re.Pattern[str], list[int]]] = []
        suffixes = ("の充実", "の推進", "の利用促進", "の維持及び整備", "の共同実施")
        for item in self.corpus.zone.items():
            members = [i for i, p in enumerate(self._projects) if p.policy_item == item.name]
            for word in [item.name, item.name_en, *item.keywords]:
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
