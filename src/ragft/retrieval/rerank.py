"""Optional cross-encoder reranking: the first stage's top n chunks of each query re-scored by a
cross-encoder (a sentence-transformers `CrossEncoder`, from a local folder: nothing is downloaded
unless the spec is a hub id and the hub is reachable), best first; chunks past n keep their order.
"""

from __future__ import annotations

from collections.abc import Mapping

Hits = list[tuple[str, float]]


class Reranker:
    """A cross-encoder scoring (query, chunk text) pairs; higher is more relevant."""

    def __init__(self, spec: str, batch_size: int = 32, device: str | None = None):
        from sentence_transformers import CrossEncoder

        from ragft.models.load import _cuda
        from ragft.models.specs import require_safetensors, resolve

        path = resolve(spec)
        require_safetensors(path)
        self.model = CrossEncoder(path, device=device or ("cuda" if _cuda() else "cpu"), trust_remote_code=False,
                                  model_kwargs={"use_safetensors": True})
        self.batch_size = batch_size

    def scores(self, pairs: list[tuple[str, str]]) -> list[float]:
        if not pairs:
            return []
        return [float(s) for s in self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)]


def rerank(hits: Hits, scores: list[float], top_n: int) -> Hits:
    """`hits` with its first `top_n` reordered by `scores` (one per reranked hit, ties keep the
    first stage's order) and given those scores; the rest follow unchanged."""
    head = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [(hits[i][0], scores[i]) for i in head] + list(hits[top_n:])


class RerankSearcher:
    """A first-stage searcher whose top `top_n` per query a `Reranker` reorders."""

    def __init__(self, first, reranker, chunk_text: Mapping[str, str], top_n: int = 20):
        self.first, self.reranker, self.chunk_text, self.top_n = first, reranker, chunk_text, top_n

    def search(self, queries: list[str], k: int) -> list[Hits]:
        """For each query, the k best (chunk id, score) pairs after reranking, best first."""
        runs = self.first.search(queries, max(k, self.top_n))
        pairs = [(q, self.chunk_text[c]) for q, hits in zip(queries, runs) for c, _ in hits[: self.top_n]]
        flat, out, at = self.reranker.scores(pairs), [], 0
        for hits in runs:
            n = min(self.top_n, len(hits))
            out.append(rerank(hits, flat[at : at + n], self.top_n)[:k])
            at += n
        return out
