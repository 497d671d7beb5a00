"""The chat: streamed answers, history per collection, follow-ups, citations opened in place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ingestion.loaders import load_document
from rag.errors import RagError
from rag.generation import OpenAIChatGenerator
from rag.generation.condense import condense_question
from rag.types import Answer, Citation, Document
from ui.citations import citation_label, cited_passage, pages_label, passage_html
from ui.resources import Workspace
from ui.sidebar import ChatSettings
from ui.text import md_escape

CHATS = "chats"
"""Session key of the chat histories, one list of turns per collection."""


@dataclass(frozen=True)
class Turn:
    """One question and what came back: the answer, or the text so far and an error."""

    question: str
    text: str = ""
    answer: Answer | None = None
    error: str | None = None
    searched: str | None = None


@st.cache_data(show_spinner=False, max_entries=64)
def _load(source: str, stamp: tuple[int, int]) -> Document | None:
    try:
        return load_document(Path(source))
    except (RagError, OSError):
        return None


def cited_document(source: str) -> Document | None:
    """The cited file as loaded now (cached while it is unchanged), None if unreadable."""
    try:
        stat = Path(source).stat()
    except OSError:
        return None
    return _load(source, (stat.st_mtime_ns, stat.st_size))


def render_citation(citation: Citation, key: str) -> None:
    """Show one citation as an expander: file, pages, the highlighted span, a download."""
    path = Path(citation.source)
    with st.expander(citation_label(citation)):
        start, end = citation.char_span
        pages = pages_label(citation.page_span)
        where = f"{pages} · " if pages else ""
        st.caption(f"{md_escape(citation.source)} · {where}characters {start}–{end}")
        passage = cited_passage(cited_document(citation.source), citation)
        if passage.stale:
            st.caption("The file changed or is gone since it was ingested: the stored chunk.")
        st.html(passage_html(passage))
        if path.is_file():
            st.download_button(
                f"Download {path.name}", data=path.read_bytes(), file_name=path.name, key=key
            )


def render_turn(turn: Turn, index: int) -> None:
    """Show a past turn as it was answered."""
    with st.chat_message("user"):
        st.markdown(md_escape(turn.question))
    with st.chat_message("assistant"):
        if turn.searched and turn.searched != turn.question:
            st.caption(f"Searched for: {md_escape(turn.searched)}")
        if turn.text:
            st.markdown(md_escape(turn.text))
        if turn.error:
            st.error(turn.error)
        if turn.answer:
            for citation in turn.answer.citations:
                render_citation(citation, f"download:{index}:{citation.number}")


def _escaped(deltas: Iterator[str], parts: list[str]) -> Iterator[str]:
    for delta in deltas:
        parts.append(delta)
        yield md_escape(delta)  # shown as text: no headings, links or math from passages


def answer(workspace: Workspace, history: list[Turn], question: str, chat: ChatSettings) -> Turn:
    """Answer ``question`` in the chat, streaming; an endpoint failure becomes a chat message."""
    with st.chat_message("user"):
        st.markdown(md_escape(question))
    parts: list[str] = []
    searched = question
    with st.chat_message("assistant"):
        try:
            if chat.llm.enabled and history:
                earlier = [(t.question, t.text) for t in history if t.answer]
                with st.spinner("Reading the follow-up with the conversation…"):
                    searched = condense_question(earlier, question, OpenAIChatGenerator(chat.llm))
                if searched != question:
                    st.caption(f"Searched for: {md_escape(searched)}")
            stream = workspace.stream(searched, chat.k, chat.llm, chat.principal)
            st.write_stream(_escaped(iter(stream), parts))
        except RagError as e:
            st.error(str(e))
            return Turn(question, "".join(parts).strip(), error=str(e), searched=searched)
        result = stream.answer
        if result is None:
            message = "the answer stream ended without an answer"
            st.error(message)
            return Turn(question, "".join(parts).strip(), error=message, searched=searched)
        for citation in result.citations:
            render_citation(citation, f"download:{len(history)}:{citation.number}")
    return Turn(question, result.text, answer=result, searched=searched)


def render(workspace: Workspace, chat: ChatSettings, *, has_documents: bool) -> None:
    """Show the collection's chat history and answer a new question."""
    store = workspace.config
    key = f"{store.url or store.path}::{store.collection}"
    history: list[Turn] = st.session_state.setdefault(CHATS, {}).setdefault(key, [])
    for index, turn in enumerate(history):
        render_turn(turn, index)
    if not has_documents:
        st.info("This collection has no documents yet: add some in the sidebar.")
    question = st.chat_input("Ask about your documents", disabled=not has_documents)
    if question:
        history.append(answer(workspace, history, question, chat))
