"""The script Streamlit runs for ``rag ui``; its settings arrive in the environment."""

from __future__ import annotations

import os

import streamlit as st

from rag.errors import RagError
from ui import chat, sidebar, upload_panel
from ui.ingest_jobs import ingest_jobs
from ui.resources import workspace_for
from ui.settings import settings_from_env


def main() -> None:
    """Lay out the sidebar and the chat for the collection picked."""
    st.set_page_config(page_title="LateRAG chat", layout="wide")
    try:
        settings = settings_from_env(os.environ)
    except RagError as e:
        st.error(str(e))
        st.stop()
    with st.sidebar:
        st.title("LateRAG")
        store = sidebar.pick_collection(settings)
    try:
        workspace = workspace_for(settings.config.model_copy(update={"store": store}))
    except RagError as e:
        st.error(f"Cannot open collection {store.collection!r}: {e}")
        st.stop()
    with st.sidebar:
        sidebar.show_notice()
        upload_panel.render(workspace, settings.principal, settings.max_upload_bytes)
        ingesting = ingest_jobs().job(workspace).view().pending
        docs = sidebar.render_documents(workspace, settings.principal, ingesting)
        chat_settings = sidebar.chat_settings(settings)
    st.header("Ask your documents")
    st.caption(f"Collection {store.collection} · {len(docs)} documents")
    chat.render(workspace, chat_settings, has_documents=bool(docs))


if __name__ == "__main__":
    main()
