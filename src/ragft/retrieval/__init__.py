"""Stages `chunk` and `index` (rules/chunk.smk, rules/index.smk): documents cut into chunks
(`chunk`, never longer than the embedder reads: `window`), embedded with a cache (`embed`), indexed
by FAISS and BM25 (`index`), fused (`hybrid`) and reranked (`rerank`); `metrics` scores retrievers,
`files` says which index files each searches."""
