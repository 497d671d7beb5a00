# The LateRAG app image: the `rag` command, the HTTP API, the Streamlit chat app, and Ray
# for the nodes of docker-compose.yml's `ray` profile.
# docker-compose.yml builds it as laterag:0.1.0; on its own: docker build -t laterag:0.1.0 .
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# CPU-only torch first, from PyTorch's CPU index: the default index would pull CUDA builds
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag ./rag
COPY ingestion ./ingestion
COPY retrievers ./retrievers
COPY ui ./ui
RUN pip install ".[ray]" \
    && useradd --create-home --uid 1000 laterag \
    && mkdir -p /data \
    && chown laterag:laterag /data

USER laterag
VOLUME ["/data"]
EXPOSE 8000 8501

# docker-compose.yml gives each service its command; alone, the image serves the API
CMD ["rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
