"""What the index is built from: one lexical document and several dense passages per project.

- The **lexical document** of a project joins every field residents' words may hit: name,
  aliases, the three summaries, the category path (Japanese and English), the examples, and the
  name, summary and example questions of every other language (``corpus/languages/``).
- The **dense passages** are the same fields cut small, one passage each (the name with its
  aliases, each summary, each example, each language's name with its summary), so one short,
  close passage decides a project's score rather than an average over a long text, and no
  passage nears the model's 512 tokens.

Both are LangChain ``Document`` objects with ``project_id`` and ``field`` in their metadata.
"""

from __future__ import annotations

from langchain_core.documents import Document

from assistant.corpus import Corpus, Project

DOCUMENTS_VERSION = 4
"""Bump when what goes into documents or passages changes: older indexes become stale."""


def _category(project: Project, corpus: Corpus) -> str:
    ja = " › ".join(project.category_path)
    en = " › ".join(corpus.category(name, "en") for name in project.category_path)
    return f"{ja} ({en})"


def lexical_document(project: Project, corpus: Corpus) -> Document:
    """The one document per project that BM25 scores."""
    parts = [
        project.name,
        project.name_en,
        *project.aliases,
        project.summary,
        project.summary_en,
        project.summary_easy,
        _category(project, corpus),
        *project.examples,
    ]
    for pack in corpus.languages.values():
        text = pack.projects.get(project.id)
        if text is not None:
            parts += [text.name, text.summary, *text.examples]
    return Document(page_content="\n".join(parts), metadata={"project_id": project.id, "field": "all"})


def dense_passages(project: Project, corpus: Corpus) -> list[Document]:
    """The short passages per project that the embedding model encodes."""
    meta = {"project_id": project.id}
    passages = [
        Document(
            page_content=f"{project.name} ({project.name_en}): {'、'.join(project.aliases)}",
            metadata={**meta, "field": "name"},
        ),
        Document(page_content=f"{project.name}: {project.summary}", metadata={**meta, "field": "summary"}),
        Document(page_content=f"{project.name_en}: {project.summary_en}", metadata={**meta, "field": "summary_en"}),
        Document(page_content=project.summary_easy, metadata={**meta, "field": "summary_easy"}),
    ]
    passages += [
        Document(page_content=example, metadata={**meta, "field": "example", "n": i})
        for i, example in enumerate(project.examples)
    ]
    for code, pack in corpus.languages.items():
        text = pack.projects.get(project.id)
        if text is None:
            continue
        passages.append(
            Document(page_content=f"{text.name}: {text.summary}", metadata={**meta, "field": f"summary_{code}"})
        )
        passages += [
            Document(page_content=example, metadata={**meta, "field": f"example_{code}", "n": i})
            for i, example in enumerate(text.examples)
        ]
    return passages


def negative_passages(corpus: Corpus) -> list[Document]:
    """Examples of topics no project covers (``corpus/out_of_scope.yaml``), for the abstention signal."""
    return [
        Document(page_content=example, metadata={"topic": topic.id, "field": "out_of_scope"})
        for topic in corpus.out_of_scope
        for example in topic.examples
    ]


def negative_documents(corpus: Corpus) -> list[Document]:
    """One lexical document per topic no project covers: its example questions, for BM25."""
    return [
        Document(page_content="\n".join(topic.examples), metadata={"topic": topic.id}) for topic in corpus.out_of_scope
    ]


def build_documents(corpus: Corpus) -> tuple[list[Document], list[Document], list[Document]]:
    """(lexical documents, dense passages, out-of-scope passages), each in corpus order."""
    lexical = [lexical_document(p, corpus) for p in corpus.projects.values()]
    dense = [passage for p in corpus.projects.values() for passage in dense_passages(p, corpus)]
    return lexical, dense, negative_passages(corpus)
