"""Embedding chunks: a sentence-transformers model on the torch, ONNX Runtime or OpenVINO backend
(see `ragft.retrieval.export`), optionally int8, with query and passage prompts, behind a
content-addressed cache, so that a grown corpus embeds only its new chunks.

- `Embedder`: a model spec (`builtin:minilm`, a directory, a hub id) with its backend, quantisation,
  batch size and prompts. Vectors are L2-normalised float32; sentence-transformers sorts texts by
  length before batching, so a batch pads to similar lengths. The model loads on first use only,
  on the GPU when there is one (torch and onnx backends). Passages (chunks) and queries are encoded
  each with its own prompt: E5, BGE or nomic models are trained with "query: " / "passage: " (or
  the like) before the text and lose recall without. A prompt left None is the model's own (the
  prompts of its config_sentence_transformers.json), else none; "" is none.
- `EmbeddingCache`: vectors keyed by (embedder identity, backend, quantisation, export recipe,
  passage prompt) and the sha256 of the chunk text. Each key's vectors live in `<cache>/<key>/` as
  packs of `<digest>.vecs.npy` + `<digest>.keys.npy`, each written atomically, the keys last: a
  killed job leaves no entry, only an unreferenced vectors file. Packs never change, so jobs that
  embed different subsets (shards) can add to one cache at the same time.
- `batch_plan(texts, batch_size)`: the distinct texts cut into encode batches, a function of the
  set of texts alone. A vector depends in its last bits on the batch it is encoded in, so that
  every run, every rerun after a kill and every shard encodes each text in the same batch, and N
  shards give the vectors of one, bit for bit.
- `embed_texts(embedder, texts, cache)`: vectors for any subset of chunks, and how many were
  embedded and how many came from the cache; `embed_shard(..., shard, shards)`: the vectors of
  one shard (every `shards`-th batch of the plan). Both add to the cache as they go, a pack of
  vectors every `PACK_TEXTS` texts, so a killed job loses little work.
- `write_shard` / `gather_shards`: a shard's vectors as one `.npz` file, written atomically, and
  the vectors of all chunks put together from the shards in chunk order.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from ragft.jsonl import atomic_writer, write_json
from ragft.models.load import load_embedder
from ragft.models.specs import resolve, sha256_file
from ragft.retrieval.export import (
    BACKENDS,
    QUANTIZE,
    RECIPE,
    exported_model,
    load_kwargs,
)

MAX_PACKS = 64  # more packs than this are merged into one
PACK_TEXTS = 256  # new vectors per cache pack: the most a killed embedding job loses
# what a shard file records of its embedder; all shards of an index must agree on it
SHARD_EMBEDDER = ("model", "backend", "quantize", "query_prompt", "passage_prompt")


def text_key(text: str) -> str:
    """The cache key of a chunk's text: its sha256, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_digest(spec: str) -> str:
    """sha256 over the relative names and bytes of every file of a model directory (hidden files,
    READMEs and exported backends left out); a hub id that is no directory is its own identity."""
    path = Path(resolve(spec))
    if not path.is_dir():
        return f"hub:{spec}"
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        if rel.startswith((".", "onnx/", "openvino/")) or "/." in rel or rel.lower().startswith("readme"):
            continue
        h.update(rel.encode() + b"\0" + sha256_file(f).encode() + b"\n")
    return h.hexdigest()


PROMPT_NAMES = {"query": ("query",), "passage": ("document", "passage", "corpus")}


def model_prompts(spec: str) -> dict | None:
    """The prompts a model folder declares (`prompts` of config_sentence_transformers.json, `{}`
    when none); None for a hub id, whose prompts the loaded model has."""
    path = Path(resolve(spec))
    if not path.is_dir():
        return None
    config = path / "config_sentence_transformers.json"
    return (json.loads(config.read_text()).get("prompts") or {}) if config.is_file() else {}


def own_prompt(prompts: dict, kind: str) -> str:
    """A model's prompt for `kind` (query or passage): its first non-empty one of the names
    sentence-transformers' encode_query / encode_document look for, in their order; else none."""
    return next((prompts[n] for n in PROMPT_NAMES[kind] if prompts.get(n)), "")


class Embedder:
    """A sentence-transformers embedder with a backend, optional int8, and the prompts put before
    passages and before queries (None: the model's own, if any); loads on first use."""

    def __init__(self, spec: str, backend: str = "torch", quantize: str = "none", batch_size: int = 64,
                 device: str | None = None, cache_dir: str | os.PathLike | None = None,
                 query_prompt: str | None = None, passage_prompt: str | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"embed.backend {backend!r} is not one of: {', '.join(BACKENDS)} "
                             "(auto is resolved first, by ragft.retrieval.auto_backend.choose_backend)")
        if quantize not in QUANTIZE:
            raise ValueError(f"embed.quantize {quantize!r} is not one of: {', '.join(QUANTIZE)}")
        if quantize == "int8" and backend == "torch":
            raise ValueError("embed.quantize int8 needs embed.backend onnx or openvino")
        self.spec, self.backend, self.quantize, self.batch_size = spec, backend, quantize, batch_size
        self.device = device if device not in (None, "auto") else None
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.configured_prompts = {"query": query_prompt, "passage": passage_prompt}

    @cached_property
    def prompts(self) -> dict[str, str]:
        """The prompt before queries and before passages: the configured one, else the model's own."""
        if all(p is not None for p in self.configured_prompts.values()):
            return dict(self.configured_prompts)
        own = model_prompts(self.spec)
        own = self.model.prompts if own is None else own
        return {kind: own_prompt(own, kind) if p is None else p for kind, p in self.configured_prompts.items()}

    @cached_property
    def model_identity(self) -> dict:
        """What the model itself depends on: its content, backend, quantisation, export recipe."""
        return {"model": self.spec, "sha256": model_digest(self.spec), "backend": self.backend,
                "quantize": self.quantize, "normalize": True, "recipe": RECIPE}

    @cached_property
    def identity(self) -> dict:
        """What the passage vectors depend on: the model's identity and the passage prompt (left
        out when empty, so that vectors embedded before prompts existed stay in the cache)."""
        prompt = self.prompts["passage"]
        return {**self.model_identity, **({"passage_prompt": prompt} if prompt else {})}

    @cached_property
    def key(self) -> str:
        """A short hex digest of `identity`: the cache folder of this embedder's vectors."""
        return _digest(self.identity)

    @cached_property
    def model(self):
        """The loaded SentenceTransformer (exported to the backend first when needed); onnx and
        openvino run on torch's thread count, so each backend uses the cores the job has."""
        if self.backend == "torch":
            return load_embedder(self.spec, self.device)
        import torch

        folder = None
        if self.cache_dir is not None:
            folder = self.cache_dir / "models" / f"{self.backend}-{self.quantize}-{_digest(self.model_identity)}"
        path = exported_model(self.spec, self.backend, self.quantize, self.model_identity, folder)
        cpu_only = self.backend == "openvino" or self.quantize == "int8"
        device = "cpu" if cpu_only else self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        kwargs = load_kwargs(self.backend, self.quantize, device, torch.get_num_threads())
        return load_embedder(str(path), device, backend=self.backend, model_kwargs=kwargs)

    @property
    def dims(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str], progress: bool = False, kind: str = "passage") -> np.ndarray:
        """Normalised float32 vectors, one row per text, of passages or queries (`kind`): each
        with its prompt, through sentence-transformers' encode_document / encode_query."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        encode = {"passage": self.model.encode_document, "query": self.model.encode_query}[kind]
        vecs = encode(list(texts), prompt=self.prompts[kind], batch_size=self.batch_size, normalize_embeddings=True,
                      convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(vecs, dtype=np.float32)


def describe(embedder: Embedder) -> dict:
    """What a shard file and an index's meta.json record of an embedder: model, resolved backend,
    quantisation and both prompts, so that queries are embedded as the index's passages were."""
    return {"model": embedder.spec, "backend": embedder.backend, "quantize": embedder.quantize,
            "query_prompt": embedder.prompts["query"], "passage_prompt": embedder.prompts["passage"]}


def _digest(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


# ---- the content-addressed cache ------------------------------------------------------------


class EmbeddingCache:
    """Vectors by text hash for one embedder, in packs under `root/<embedder key>/`."""

    def __init__(self, root: str | os.PathLike, embedder: Embedder):
        self.dir = Path(root) / embedder.key
        self.identity = embedder.identity

    def packs(self) -> list[Path]:
        """The complete packs (their keys files), oldest name first."""
        return sorted(self.dir.glob("*.keys.npy"))

    def lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vector of every key that has one."""
        found: dict[str, np.ndarray] = {}
        want = np.unique(np.asarray(list(keys), dtype="S64"))
        if not len(want):
            return found
        for keys_file in self.packs():
            try:
                pack_keys = np.load(keys_file)
                vecs = np.load(_vecs_file(keys_file), mmap_mode="r")
            except (FileNotFoundError, ValueError):  # merged away meanwhile, or unreadable
                continue
            for row in np.flatnonzero(np.isin(pack_keys, want)):
                found.setdefault(pack_keys[row].decode(), np.array(vecs[row]))
        return found

    def add(self, keys: Sequence[str], vectors: np.ndarray, compact: bool = True) -> None:
        """Store vectors under their keys as one new pack (atomically); merge packs when many
        (unless `compact` is off: a caller adding packs in a loop merges once, at its end)."""
        if not len(keys):
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "identity.json").is_file():
            write_json(self.dir / "identity.json", self.identity)
        _write_pack(self.dir, np.asarray(list(keys), dtype="S64"), np.ascontiguousarray(vectors, np.float32))
        if compact:
            self.compact_if_many()

    def compact_if_many(self) -> None:
        """Merge the packs when there are more than `MAX_PACKS`."""
        if len(self.packs()) > MAX_PACKS:
            self.compact()

    def compact(self) -> None:
        """Merge every pack into one; safe while other jobs read or add."""
        old = self.packs()
        keys, vecs = [], []
        for keys_file in old:
            try:
                keys.append(np.load(keys_file))
                vecs.append(np.load(_vecs_file(keys_file)))
            except (FileNotFoundError, ValueError):
                continue
        if not keys:
            return
        all_keys, first = np.unique(np.concatenate(keys), return_index=True)
        merged = _write_pack(self.dir, all_keys, np.concatenate(vecs)[first])
        for keys_file in old:
            if keys_file != merged:
                keys_file.unlink(missing_ok=True)
                _vecs_file(keys_file).unlink(missing_ok=True)
        for orphan in self.dir.glob("*.vecs.npy"):  # left by killed jobs, an hour ago or more
            if not orphan.with_name(orphan.name.replace(".vecs.", ".keys.")).exists() and \
                    time.time() - orphan.stat().st_mtime > 3600:
                orphan.unlink(missing_ok=True)


def _vecs_file(keys_file: Path) -> Path:
    return keys_file.with_name(keys_file.name.replace(".keys.npy", ".vecs.npy"))


def _write_pack(folder: Path, keys: np.ndarray, vecs: np.ndarray) -> Path:
    """Write vectors, then keys (the commit), each atomically; named by a digest of the content."""
    digest = hashlib.sha256(keys.tobytes() + vecs.tobytes()).hexdigest()[:32]
    keys_file = folder / f"{digest}.keys.npy"
    with atomic_writer(_vecs_file(keys_file)) as fh:
        np.save(fh, vecs)
    with atomic_writer(keys_file) as fh:
        np.save(fh, keys)
    return keys_file


def batch_plan(texts: Sequence[str], batch_size: int) -> list[list[str]]:
    """The distinct texts, longest first (ties by text), cut into batches of `batch_size`."""
    distinct = sorted(set(texts), key=lambda t: (-len(t), t))
    return [distinct[i : i + batch_size] for i in range(0, len(distinct), batch_size)]


def _embed_batches(embedder, batches: list[list[str]], cache: EmbeddingCache | None,
                   log=None) -> tuple[dict[str, np.ndarray], int, int]:
    """The vector of every text in `batches` by text key: from the cache, else encoded batch by
    batch (a batch's cached texts left out) and added to the cache as packs along the way.
    Also returns how many distinct texts were encoded and how many came from the cache."""
    keys = [[text_key(t) for t in batch] for batch in batches]
    table = cache.lookup([k for ks in keys for k in ks]) if cache is not None else {}
    cached = len(table)
    todo_total = sum(map(len, batches)) - cached
    done, pending = 0, []
    for batch, ks in zip(batches, keys):
        todo = [(k, t) for k, t in zip(ks, batch) if k not in table]
        if not todo:
            continue
        for (k, _), v in zip(todo, embedder.encode([t for _, t in todo])):
            table[k] = v
        pending += [k for k, _ in todo]
        done += len(todo)
        if len(pending) >= PACK_TEXTS or done == todo_total:
            if cache is not None:
                cache.add(pending, np.stack([table[k] for k in pending]), compact=False)
            pending = []
            if log:
                log(f"embedded {done} of {todo_total} texts ({cached} from the cache)")
    if cache is not None and done:
        cache.compact_if_many()
    return table, done, cached


def _stack(table: dict[str, np.ndarray], keys: list[str]) -> np.ndarray:
    if not keys:
        return np.zeros((0, len(next(iter(table.values()))) if table else 0), np.float32)
    return np.ascontiguousarray(np.stack([table[k] for k in keys]), dtype=np.float32)


def embed_texts(embedder: Embedder, texts: Sequence[str], cache: EmbeddingCache | None = None,
                progress: bool = False, log=None) -> tuple[np.ndarray, dict]:
    """One normalised float32 row per text: cached rows read back, each other distinct text embedded
    once, in the batches of `batch_plan`, and cached. Also returns counts of distinct texts
    `embedded` and `cached` (from the cache), and of `repeated` texts (equal to an earlier one), so
    that `texts = embedded + cached + repeated`. Progress goes to `log` (`print` with `progress`)."""
    plan = batch_plan(texts, getattr(embedder, "batch_size", 64))
    table, embedded, cached = _embed_batches(embedder, plan, cache, log or (print if progress else None))
    keys = [text_key(t) for t in texts]
    stats = {"texts": len(texts), "embedded": embedded, "cached": cached, "repeated": len(texts) - len(set(keys))}
    return _stack(table, keys), stats


def embed_shard(embedder: Embedder, texts: Sequence[str], shard: int, shards: int,
                cache: EmbeddingCache | None = None, log=None) -> tuple[list[str], np.ndarray, dict]:
    """Shard `shard` (0-based) of `shards`: every `shards`-th batch of `batch_plan(texts)`, so
    shards are about equal in texts and in length. Returns its text keys, their vectors, and
    counts of its distinct `texts`, those `embedded` and those `cached`."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of 0..{shards - 1}")
    batches = batch_plan(texts, getattr(embedder, "batch_size", 64))[shard::shards]
    table, embedded, cached = _embed_batches(embedder, batches, cache, log)
    keys = [text_key(t) for batch in batches for t in batch]
    return keys, _stack(table, keys), {"texts": len(keys), "embedded": embedded, "cached": cached}


def write_shard(path: str | os.PathLike, keys: Sequence[str], vectors: np.ndarray, meta: dict) -> None:
    """A shard's text keys, vectors and meta (embedder, counts) as one .npz file, written atomically
    and byte for byte the same for the same content (no time stamps, unlike `np.savez`)."""
    import io
    import zipfile

    arrays = {"keys": np.asarray(list(keys), dtype="S64"), "vectors": np.ascontiguousarray(vectors, np.float32),
              "meta": np.array(json.dumps(meta, sort_keys=True))}
    with atomic_writer(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as z:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, array, allow_pickle=False)
            z.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())


def read_shard(path: str | os.PathLike) -> tuple[list[str], np.ndarray, dict]:
    """The text keys, vectors and meta of a shard file."""
    with np.load(path, allow_pickle=False) as z:
        return [k.decode() for k in z["keys"]], z["vectors"], json.loads(str(z["meta"]))


def gather_shards(paths: Sequence[str | os.PathLike], texts: Sequence[str]) -> tuple[np.ndarray, dict]:
    """The vector of every text, one row each in order, from the shard files; and their meta: the
    embedder they share (model, backend, quantisation, prompts), how `auto` chose the backend (if
    it did) and summed counts. A shard of another embedder, or a text no shard has, stops it with
    an error naming the files."""
    table, meta = {}, {"texts": len(texts), "embedded": 0, "cached": 0}
    for path in paths:
        keys, vecs, shard = read_shard(path)
        embedder = {k: shard.get(k, "") for k in SHARD_EMBEDDER}
        if meta.setdefault("embedder", embedder) != embedder:
            raise ValueError(f"{path}: embedded by {embedder}, the other shards by {meta['embedder']}; rerun embed")
        if shard.get("backend_choice"):
            meta["backend_choice"] = shard["backend_choice"]
        table.update(zip(keys, vecs))
        meta["embedded"] += shard["embedded"]
        meta["cached"] += shard["cached"]
    keys = [text_key(t) for t in texts]
    missing = [t for k, t in zip(keys, texts) if k not in table]
    if missing:
        raise ValueError(f"{', '.join(map(str, paths))}: no vector for {len(missing)} chunk texts "
                         f"(first: {missing[0][:60]!r}); rerun embed")
    meta["repeated"] = len(texts) - len(set(keys))
    return _stack(table, keys), meta
