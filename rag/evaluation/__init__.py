"""Retrieval evaluation on FinanceBench-style and BEIR-style folders."""

from rag.evaluation.datasets import EvalSet, load_eval_set
from rag.evaluation.metrics import DocQuery, PageQuery, doc_scores, ndcg, page_scores
from rag.evaluation.runner import EvalReport, evaluate

__all__ = [
    "DocQuery",
    "EvalReport",
    "EvalSet",
    "PageQuery",
    "doc_scores",
    "evaluate",
    "load_eval_set",
    "ndcg",
    "page_scores",
]
