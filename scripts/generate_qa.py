from ragft.jsonl import iter_jsonl, write_json, write_jsonl
from ragft.logs import setup
from ragft.qa.cloze import cloze_questions, none_kept

log = setup(snakemake.log[0], snakemake.threads)
settings = dict(snakemake.params.generate)
method = settings.pop("method")
cloze_keys = ("questions", "per_chunk", "min_words", "max_words")
if method == "cloze":
    questions, manifest = cloze_questions(iter_jsonl(snakemake.input.chunks), snakemake.params.seed,
                                          **{k: settings[k] for k in cloze_keys})
else:  # llm: the model writes the questions, then answers them from their chunk (round trip)
    from tqdm import tqdm

    from ragft.models.generate import generate_answers
    from ragft.models.load import load_causal_lm, load_tokenizer
    from ragft.prompts import build_prompt, renderer
    from ragft.qa.llm import llm_questions

    m = snakemake.params.model
    path = snakemake.input.get("model") or settings["model"]  # a built-in's or a local folder, else a hub id
    tokenizer = load_tokenizer(path, m["trust_remote_code"])
    model = load_causal_lm(path, None, m["dtype"], m["trust_remote_code"])
    render, _, _ = renderer(tokenizer, m["chat_template"], m["templates"])  # the round trip is shown as RAG shows it
    progress = tqdm(total=settings["questions"], desc="generated questions kept", unit="q")

    def generate(prompts, max_new_tokens):
        return generate_answers(model, tokenizer, prompts, max_new_tokens, settings["batch_size"], stop=["\n"])

    def ask(prompts):  # plain few-shot completion: the question is the line after "Question:"
        return generate(prompts, settings["max_new_tokens"])

    def reply(pairs):
        return generate([render(build_prompt(q, [chunk], templates=m["templates"])) for chunk, q in pairs], m["max_new_tokens"])

    questions, manifest = llm_questions(
        iter_jsonl(snakemake.input.chunks), snakemake.params.seed, ask, reply, model=settings["model"],
        max_candidates=settings["max_candidates"] or 4 * settings["questions"], round_trip_f1=settings["round_trip_f1"],
        template=settings["template"], on_kept=progress.update, **{k: settings[k] for k in cloze_keys})
    progress.close()
if error := none_kept(manifest):
    raise SystemExit(f"ragft: {error}")
write_jsonl(snakemake.output.questions, questions)
write_json(snakemake.output.manifest, manifest)
log.info("generated %s", manifest)
