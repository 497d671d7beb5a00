"""The sidebar: collection picker, document list with delete, retrieval and LLM settings."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from rag.access import Principal
from rag.config import LLMConfig, RAGConfig, StoreConfig
from rag.errors import ConfigError, RagError
from rag.types import DocumentInfo
from ui.endpoints import chat_llm, extractive
from ui.resources import Workspace, collections
from ui.settings import AppSettings
from ui.text import md_escape, plural

MAX_K = 20
NOTICE = "notice"
"""Session key of the last sidebar action's outcome: (kind, message)."""
CONFIRM = "pending_delete"
"""Session key of the document whose delete waits for the user's confirmation."""


@dataclass(frozen=True)
class ChatSettings:
    """What the chat needs from the sidebar: passages per answer, the LLM if any, the caller."""

    k: int
    llm: LLMConfig
    principal: Principal = Principal()


def _add_collection() -> None:
    name = str(st.session_state.get("new_collection", "")).strip()
    try:
        StoreConfig(collection=name)
    except ValidationError:
        st.session_state[NOTICE] = (
            "error",
            f"{name!r} is not a collection name: use 1-64 letters, digits, '.', '_' or '-'",
        )
        return
    st.session_state.setdefault("added_collections", []).append(name)
    st.session_state["collection"] = name
    st.session_state["new_collection"] = ""


def pick_collection(settings: AppSettings) -> StoreConfig:
    """Show the collection picker; return the chosen collection's store settings."""
    store = settings.store
    key = store.api_key.get_secret_value() if store.api_key else None
    try:
        names = collections(str(store.path), store.url, key)
    except RagError as e:
        st.warning(str(e))
        names = []
    added = st.session_state.setdefault("added_collections", [])
    options = sorted({*names, store.collection, *added})
    st.session_state.setdefault("collection", store.collection)
    chosen = st.selectbox("Collection", options, key="collection")
    with st.popover("New collection"):
        st.text_input("Name", key="new_collection", placeholder="letters, digits, . _ -")
        st.button("Create", key="create_collection", on_click=_add_collection)
    return store.model_copy(update={"collection": chosen or store.collection})


def _ask_delete(info: DocumentInfo) -> None:
    st.session_state[CONFIRM] = info.doc_id


def _cancel_delete() -> None:
    st.session_state.pop(CONFIRM, None)


def _delete(workspace: Workspace, info: DocumentInfo, principal: Principal) -> None:
    st.session_state.pop(CONFIRM, None)
    name = Path(info.source).name
    try:
        deleted = workspace.delete(info, principal)
    except RagError as e:
        st.session_state[NOTICE] = ("error", f"cannot delete {name}: {e}")
        return
    st.session_state[NOTICE] = ("success", f"Deleted {name} ({plural(deleted, 'chunk')})")


def _describe(info: DocumentInfo) -> str:
    meta = info.metadata
    parts = [plural(info.chunks, "chunk")]
    if meta.get("chunking"):
        parts.append(f"{meta['chunking']} chunking")
    if meta.get("chunker"):
        parts.append(f"{meta['chunker']} chunker")
    return " · ".join(parts)


def show_notice() -> None:
    """Show, once, what the last sidebar action did."""
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        kind, message = notice
        (st.error if kind == "error" else st.success)(message)


def _confirm(workspace: Workspace, info: DocumentInfo, principal: Principal) -> None:
    """Ask before deleting ``info``: a delete cannot be undone."""
    name = Path(info.source).name
    st.warning(f"Delete {md_escape(name)} and its {plural(info.chunks, 'chunk')}?")
    yes, no = st.columns(2)
    yes.button(
        "Delete",
        key="confirm_delete",
        type="primary",
        on_click=_delete,
        args=(workspace, info, principal),
    )
    no.button("Cancel", key="cancel_delete", on_click=_cancel_delete)


def render_documents(
    workspace: Workspace, principal: Principal, ingesting: Collection[Path] = ()
) -> list[DocumentInfo]:
    """List the documents ``principal`` may read, each with its chunking and a delete button.

    A document whose file is in ``ingesting`` cannot be deleted until its ingest has ended.
    """
    docs = workspace.documents(principal)
    st.subheader(f"Documents ({len(docs)})")
    st.caption(f"Signed in as {md_escape(principal.describe())}")
    if not docs:
        st.caption("None yet: add files above.")
    busy = {p.resolve() for p in ingesting}
    for info in docs:
        name = Path(info.source).name
        held = Path(info.source).resolve() in busy
        delete_row(
            f"**{md_escape(name)}**  \n{md_escape(_describe(info))}",
            info.source,
            key=f"delete:{info.doc_id}",
            what=name,
            on_click=partial(_ask_delete, info),
            busy=held,
        )
        if st.session_state.get(CONFIRM) == info.doc_id:
            _confirm(workspace, info, principal)
    return docs


def delete_row(
    text: str,
    tooltip: str | None,
    *,
    key: str,
    what: str,
    on_click: Callable[[], None],
    busy: bool = False,
) -> None:
    """One line of Markdown ``text`` with a delete button ("Delete ``what``"; off while busy)."""
    line, button = st.columns([5, 1], vertical_alignment="center")
    line.markdown(text, help=tooltip)
    button.button(
        "",
        icon=":material/delete:",
        key=key,
        help=f"{what} is being ingested" if busy else f"Delete {what}",
        disabled=busy,
        on_click=on_click,
    )


def describe_retrieval(config: RAGConfig) -> str:
    """One line saying how the configured search finds passages."""
    retrieval = config.retrieval
    if retrieval.hybrid:
        parts = [f"Hybrid search (dense and BM25, {retrieval.fusion} fusion)"]
    else:
        parts = ["Dense search"]
    if retrieval.query_mode != "plain":
        parts.append(f"{retrieval.query_mode} queries")
    if retrieval.title_weight > 0:
        parts.append("boosted by file name")
    if config.rerank.kind != "none":
        parts.append(f"reranked by {config.rerank.kind}")
    if retrieval.per_page == 1:
        parts.append("one passage a page")
    elif retrieval.per_page > 1:
        parts.append(f"at most {retrieval.per_page} passages a page")
    return ", ".join(parts) + "."


def _typed_llm(settings: AppSettings) -> LLMConfig:
    """The endpoint the user types (the operator allows it); the server's key stays on its own."""
    configured = settings.llm
    base_url = st.text_input(
        "Base URL",
        value=configured.base_url or "",
        key="llm_base_url",
        placeholder="http://127.0.0.1:8080/v1",
        help="An OpenAI-compatible endpoint; empty: extractive answers, no LLM.",
    )
    model = st.text_input("Model", value=configured.model or "", key="llm_model")
    api_key = st.text_input(
        "API key",
        type="password",
        key="llm_api_key",
        help="Kept in this browser session only. Any endpoint but the server's own is called "
        "with this key, or with none: the server's key never leaves for another address.",
    )
    try:
        return chat_llm(configured, base_url, model, api_key)
    except ConfigError:
        st.warning("Set both the base URL and the model to use an LLM; answering extractively.")
        return extractive(configured)


def _operator_llm(settings: AppSettings) -> LLMConfig:
    """The operator's endpoint, on or off; users cannot point the app elsewhere."""
    configured = settings.llm
    if not configured.enabled:
        return extractive(configured)
    use = st.toggle(
        f"Answer with {md_escape(str(configured.model))}",
        value=True,
        key="use_llm",
        help="The language model the operator configured; off: extractive answers.",
    )
    return configured if use else extractive(configured)


def chat_settings(settings: AppSettings) -> ChatSettings:
    """Show the retrieval and LLM settings; return what the chat should use."""
    config = settings.config
    st.subheader("Retrieval")
    k = st.slider("Passages per answer (k)", 1, max(MAX_K, config.top_k), config.top_k, key="top_k")
    st.caption(describe_retrieval(config))
    st.subheader("Language model")
    typed = config.app.allow_user_llm_endpoints
    llm = _typed_llm(settings) if typed else _operator_llm(settings)
    if llm.enabled:
        st.caption(f"Answers by {md_escape(str(llm.model))}, follow-ups read with the history.")
    else:
        st.caption("Answers are extractive: the retrieved sentences closest to the question.")
    return ChatSettings(k=k, llm=llm, principal=settings.principal)
