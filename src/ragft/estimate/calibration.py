"""The estimator's constants, each measured on this project's 2-core AMD EPYC (AVX-512, no GPU,
24 GB) and named with where it came from: the demo's jobs (benchmarks/rules/**.tsv of `make demo`,
its data_report.json and metrics.json), ingest and chunking of SEC's 160-page 3M 10-K, and the
README's figures. That machine is shared with other work, so each time is its quiet equivalent (a
measurement times the part of the CPU the run got, by the load model of ragft.estimate.run), and
ragft.estimate divides them by the speed of the machine it runs on."""

# ---- the machine ---------------------------------------------------------------------------------
REF_GFLOPS = 125.0  # one core's float32 256x256 numpy matmul there, at its best (measure_machine: 114-130)

# ---- documents: characters, chunks, questions ----------------------------------------------------
CHARS_PER_PDF_PAGE = 3660  # the 10-K: 586,682 characters in 160 pages (a dense page; a paper's is ~3k)
CHARS_PER_PDF_BYTE = 1.0  # at most, for a small text-only PDF (fpdf2's: 1,929 in 2,047 bytes; the 10-K: 0.47)
TEXT_SHARE = {"txt": 1.0, "md": 1.0, "markdown": 1.0, "jsonl": 0.9, "json": 0.5, "html": 0.3, "htm": 0.3,
              "xhtml": 0.3, "docx": 0.5}  # characters of text per byte of file (demo: 197 KB of txt/md/jsonl, 177k)
CHARS_PER_TOKEN = 4.3  # per chunk token not overlapped: demo 3.76 (979 chunks of 64/16), 10-K 4.85 (1,081 of 128/16)
GENERATED_PER_CHUNK = 0.7  # cloze questions kept per chunk of prose: demo documents 0.5 (500 of 1,017), AgXQA 0.88
GENERATED_PER_PDF_CHUNK = 0.27  # ... of a PDF, whose lines cut sentences (fragments): the 10-K 297 of 1,081 chunks

# ---- seconds of each job, quiet, with its rule's threads -----------------------------------------
STARTUP_S = 2.0  # a job without torch (ingest, chunk, split_qa, index_bm25): demo 1.3-1.8 s
TORCH_STARTUP_S = 12.0  # one that imports torch and transformers and loads the embedder or a tokenizer
PDF_PAGE_S = 0.16  # pypdf's text layer of a page: the 10-K's 160 in 23-31 s
TEXT_MB_S = 2.0  # reading, cleaning and dedup of a MB of text files (demo: 197 KB in 1.3 s with start-up)
CHUNK_CHAR_S = 1.5e-6  # rule chunk: tokenising and packing a character (demo 177k and 10-K 587k: 1.4-1.8 s)
INDEX_CHUNK_S = 1e-3  # index_dense: a vector added and searched while tuning (demo: 979 in 2.6 s with start-up)
BM25_CHAR_S = 1e-6  # index_bm25: a character tokenised and indexed (demo: 177k in 1.5 s with start-up)
CLOZE_CHUNK_S = 0.005  # generate_qa, cloze: a sampled chunk (demo documents: 6.4 s for 979 chunks)
LLM_QUESTION_S = 2.3  # generate_qa, llm, builtin:smollm2: a candidate written and answered back (README)
BACKEND_S = 60.0  # embed_backend timing torch, onnx and openvino, once per machine (30-70 s)
EMBED_TOKEN_S = 1.4e-4  # rule embed, builtin:minilm: a chunk token (demo: 979 x 64 tokens, 21 s with start-up)
QUESTION_S = 0.015  # hybrid_weights, finetune_data: a train question embedded and searched (demo: 862 in 37-41 s)
BUILD_S = {"builtin:smollm2": 50.0, "builtin:tiny": 20.0}  # build_smollm2 23-51 s (README 30-66 s); tiny's tokenizer
TINY_STEP_S = 0.06  # build_tiny: a pretraining step of 32 x 384 tokens (DESIGN: 4,000 steps in about 4 minutes)
TRAIN_GFLOPS = 64.0  # QLoRA on 2 threads: 4 x parameters FLOPs per trained token (the demo's 24 steps, 17.1k
# tokens: 157-171 s in the README's runs; here 587-920 s with a load of 1.5-4 per CPU; the 10-K's 26k: 332 s)
CHECKPOINTING_TIME = 1.3  # gradient checkpointing recomputes activations: ~30% slower (config.yaml's recipe notes)
LOAD_S_PER_GB = 8.0  # loading a causal LM per GB of float32 weights (half as much again to quantise to 4 bits)
PREFILL_S = 3.3e-3  # evaluate: a prompt token of a 135M model, both passes (answer, gold NLL), batched
DECODE_S = 2.3e-2  # evaluate: a generated token of a 135M model, batched (both fitted to the demo's rag 84 s,
# rag_ft 53-60 s, ft 32-33 s, two at a time with little other work; with more: base 119 s, fewshot 161 s)
FT_ANSWER_TOKENS = 6  # a fine-tuned model answers in a short phrase (demo: ft answers 2.7x faster than base)
REPORT_S = 15.0  # report, report_retrieval: pandas, the bootstrap, matplotlib
SMOLLM2_PARAMS = 134.5e6  # the model the per-token costs were measured on; they scale with parameters

# ---- tokens of builtin:smollm2's prompts (chat template and instruction included), on the demo ---
EVAL_PROMPT_TOKENS = 37  # the instruction and template around a question (base: 51.4 with the question)
PROMPT_TOKENS = 44  # the same in a training example, with its answer and end token (qa builder: 56.9)
QUESTION_TOKENS = {"gold": 14, "generated": 30}  # a written question; a cloze sentence with its blank
SHOT_TOKENS = {"gold": 22, "generated": 43}  # a worked example (fewshot's 3 add 65 on the demo, 129 on the 10-K)
CHUNK_LM_TOKENS = 1.1  # base-model tokens per chunk token (demo: a 64-token chunk adds 66; 10-K: 3 of 128 add 471)

JUDGE_PROMPT_TOKENS = 78  # the built-in grading prompt in builtin:smollm2's chat template, before its question and answers

# ---- memory ----------------------------------------------------------------------------------------
MEMORY_BASE_MB = 650  # Python, torch and transformers in a job that runs a causal LM (demo base eval: 1,149-1,256 MB)
VOCAB = {"builtin:smollm2": 49152, "builtin:tiny": 1024, "hub": 128256}  # before a model is built (a hub id: Llama 3)
# evaluate also holds a batch's prompts' float32 logits: demo rag 1,706 MB (16 x 117 tokens), 10-K rag 3,549 (32 x 535)
ACTIVATION_BYTES = 200  # QLoRA on a CPU, per token, layer and hidden unit of the longest batch kept for
# the backward pass (demo: 5,167-5,260 MB at 8 rows of 148 tokens; 10-K: 8,336 MB at 8 x 256)
ROW_MAX = 1.25  # the longest example over its builder's mean (demo retrieval builder: 148 over 121)
# max_rss (MB) of the jobs without a causal LM, measured in the demo (benchmarks/rules/demo/*.tsv);
# the local rules (split_qa, report, review_sheet, report_retrieval) have no benchmark: pandas and
# matplotlib, taken as the embedder's jobs
JOB_MB = {"ingest": 240, "chunk": 50, "embed_backend": 1460, "embed": 1000, "index_dense": 250, "index_bm25": 60,
          "hybrid_weights": 880, "retrieval_eval": 850, "finetune_data": 900, "generate_qa": 230, "split_qa": 600,
          "report": 600, "review_sheet": 600, "report_retrieval": 600, "report_corpora": 600}  # demo and 10-K, the larger
CHUNK_CHAR_MB = 2.4e-4  # rule chunk holds the documents: 47 MB for the demo's 177k characters, 144 MB for the 10-K's 587k
