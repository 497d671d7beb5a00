"""The LateRAG chat app: a Streamlit front end over the SDK, started with ``rag ui``."""
