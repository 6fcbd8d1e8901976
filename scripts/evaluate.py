from ragft.evaluate.answer import (
    answer_questions,
    finetune_cost,
    pick_shots,
    retrieval_hits,
    retrieve_contexts,
)
from ragft.evaluate.metrics import aggregate_answers
from ragft.jsonl import read_json, read_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.models.load import describe_adapter_load, load_causal_lm, load_tokenizer
from ragft.retrieval.index import open_searcher

log = setup(snakemake.log[0], snakemake.threads)
p, inp = snakemake.params, snakemake.input
gen = p.generation
questions = read_jsonl(inp.questions)
chunks = read_jsonl(inp.chunks)
chunk_text = {c["id"]: c["text"] for c in chunks}
chunk_doc = {c["id"]: c["doc_id"] for c in chunks}

# 1) retrieve
searcher = open_searcher(p.system["retriever"], dict(inp.items()), chunk_text=chunk_text, reranker=p.reranker,
                         cache_dir=snakemake.config["embed"].get("cache") or None)
hits = retrieve_contexts(searcher, questions, p.k)

# 2) answer with the base model, plus the system's adapter
shots = pick_shots(read_jsonl(inp.train), p.system["shots"], p.seed)
tokenizer = load_tokenizer(p.base, gen["trust_remote_code"])
model = load_causal_lm(p.base, inp.get("adapter"), gen["dtype"], gen["trust_remote_code"], gen["merge_adapter"])
predictions = answer_questions(model, tokenizer, questions, hits, chunk_text, shots=shots, generation=gen,
                               chunk_doc=chunk_doc, seed=p.seed)
write_jsonl(snakemake.output.predictions, predictions)

# 3) score
result = {"system": snakemake.wildcards.system, **p.system, **aggregate_answers(predictions)}
if inp.get("adapter"):
    result["adapter_load"] = describe_adapter_load(inp.adapter, gen["merge_adapter"])
if searcher is not None:
    result["retrieval"] = retrieval_hits(predictions, questions, chunk_doc, chunk_text, p.k)
if "train_summary" in inp.keys():
    result["cost"] = finetune_cost(read_json(inp.train_summary))
write_json(snakemake.output.metrics, result)
if result.get("truncated", {}).get("prompts"):
    log.warning("%d prompts were longer than the model's window and were truncated (%d tokens cut)",
                result["truncated"]["prompts"], result["truncated"]["tokens"])
log.info("%s", result)
