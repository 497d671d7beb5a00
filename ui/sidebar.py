"""The sidebar: collection picker, document list with delete, retrieval and LLM settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from pydantic import SecretStr, ValidationError

from rag.access import Principal
from rag.config import LLMConfig, RAGConfig, StoreConfig
from rag.errors import RagError
from rag.types import DocumentInfo
from ui.resources import Workspace, collections
from ui.settings import AppSettings
from ui.text import md_escape, plural
from ui.uploads import upload_folder

MAX_K = 20
NOTICE = "notice"
"""Session key of the last sidebar action's outcome: (kind, message)."""


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


def _delete(workspace: Workspace, info: DocumentInfo) -> None:
    name = Path(info.source).name
    try:
        deleted = workspace.delete(info.doc_id)
    except RagError as e:
        st.session_state[NOTICE] = ("error", f"cannot delete {name}: {e}")
        return
    source = Path(info.source)
    if source.parent == upload_folder(workspace.config).resolve():
        source.unlink(missing_ok=True)
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


def render_documents(workspace: Workspace, principal: Principal) -> list[DocumentInfo]:
    """List the documents ``principal`` may read, each with its chunking and a delete button."""
    docs = workspace.documents(principal)
    st.subheader(f"Documents ({len(docs)})")
    st.caption(f"Signed in as {md_escape(principal.describe())}")
    if not docs:
        st.caption("None yet: add files above.")
    for info in docs:
        name = Path(info.source).name
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.markdown(f"**{md_escape(name)}**  \n{md_escape(_describe(info))}", help=info.source)
        button.button(
            "",
            icon=":material/delete:",
            key=f"delete:{info.doc_id}",
            help=f"Delete {name}",
            on_click=_delete,
            args=(workspace, info),
        )
    return docs


def chat_settings(settings: AppSettings) -> ChatSettings:
    """Show the retrieval and LLM settings; return what the chat should use."""
    st.subheader("Retrieval")
    k = st.slider("Passages per answer (k)", 1, MAX_K, RAGConfig().top_k, key="top_k")
    st.caption("Dense search, boosted by file name, one passage a page.")
    st.subheader("Language model")
    base_url = st.text_input(
        "Base URL",
        value=settings.llm.base_url or "",
        key="llm_base_url",
        placeholder="http://127.0.0.1:8080/v1",
        help="An OpenAI-compatible endpoint; empty: extractive answers, no LLM.",
    )
    model = st.text_input("Model", value=settings.llm.model or "", key="llm_model")
    api_key = st.text_input(
        "API key",
        type="password",
        key="llm_api_key",
        help="Kept in this browser session only; empty: OPENAI_API_KEY of the server, if set.",
    )
    try:
        llm = LLMConfig(
            base_url=base_url.strip() or None,
            model=model.strip() or None,
            api_key=SecretStr(api_key) if api_key else None,
            timeout=settings.llm.timeout,
        )
    except ValidationError:
        st.warning("Set both the base URL and the model to use an LLM; answering extractively.")
        llm = LLMConfig(timeout=settings.llm.timeout)
    if llm.enabled:
        st.caption(f"Answers by {md_escape(str(llm.model))}, follow-ups read with the history.")
    else:
        st.caption("Answers are extractive: the retrieved sentences closest to the question.")
    return ChatSettings(k=k, llm=llm, principal=settings.principal)
