"""The `ragft` command. `ragft ask --corpus NAME --system NAME "question"` answers one question with
the artefacts the workflow built under results/ and prints the sources it retrieved. `ragft validate
results/CORPUS results/CORPUS_generated` compares a corpus's results on gold questions with those on
questions generated from it: do they rank systems and retrievers alike?"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ragft", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="answer one question with one system's built artefacts",
                         description="Answer one question with a system's built index, model and adapter "
                                     "(results/{corpus}/...), as evaluation does, and print the retrieved sources.")
    ask.add_argument("question", help="the question, in quotes")
    ask.add_argument("--corpus", help="a corpus of the config (default: the only one)")
    ask.add_argument("--system", help="a system of the config (default: the only one)")
    ask.add_argument("--configfile", default="config/config.yaml", help="the workflow config (default: %(default)s)")
    ask.add_argument("--directory", default=".", help="the workflow's working directory, holding results/ (default: .)")
    ask.add_argument("-k", type=int, help="chunks to retrieve (default: the config's retrieval.k)")
    ask.add_argument("--json", action="store_true", help="print the result as JSON")
    val = sub.add_parser("validate", help="compare results on gold questions with results on generated ones",
                         description="Put side by side the comparison tables (report/comparison.csv) and retrieval "
                                     "metrics (retrieval/metrics.json) of one corpus run with gold questions and with "
                                     "generated ones, give Kendall's tau-b between their rankings of the systems and "
                                     "retrievers per metric, and list the pairs they order differently.")
    val.add_argument("gold_dir", metavar="GOLD_DIR", help="results/<corpus> of the run on gold questions")
    val.add_argument("generated_dir", metavar="GENERATED_DIR", help="results/<corpus> of the run on generated questions")
    val.add_argument("--out", metavar="FILE.md", help="write the Markdown report here (default: print it)")
    val.add_argument("--csv", metavar="DIR", help="also write its tables as CSV files into this folder")
    return p


def _only(name: str, given: str | None, choices) -> str:
    if given:
        return given
    choices = list(choices)
    if len(choices) == 1:
        return choices[0]
    raise SystemExit(f"ragft ask: choose --{name} among: {', '.join(choices)}")


def _ask(args) -> int:
    from ragft.ask import Asker, format_result, load_config
    from ragft.config import ConfigError

    try:
        # as with `snakemake --directory`: the config file is found from here, and the paths in it
        # (sources, results/, resources/) are read relative to the working directory
        configfile = Path(args.configfile).resolve()
        os.chdir(args.directory)
        config = load_config(configfile)
        corpus = _only("corpus", args.corpus, config["corpora"])
        system = _only("system", args.system, config["systems"])
        result = Asker(config, corpus, system).ask(args.question, args.k)
    except (ConfigError, OSError, KeyError) as err:
        print(f"ragft ask: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else format_result(result), end="" if not args.json else "\n")
    return 0


def _results(folder: str):
    """A results/<corpus> folder's comparison table, retrieval metrics ({} without) and its label:
    the folder, n eval questions and, for generated questions, how they were made."""
    import pandas as pd

    from ragft.jsonl import read_json
    from ragft.report.tables import questions_label

    root = Path(folder)
    table = pd.read_csv(root / "report" / "comparison.csv")
    retrieval = root / "retrieval" / "metrics.json"
    manifest = root / "qa" / "split_manifest.json"
    how = questions_label(read_json(manifest)) if manifest.is_file() else ""
    n = f"{int(table['n'].max())} eval questions" if "n" in table.columns and len(table) else ""
    label = f"{folder} ({'; '.join(filter(None, [n, how]))})" if n or how else folder
    return table, read_json(retrieval) if retrieval.is_file() else {}, label


def _validate(args) -> int:
    from ragft.jsonl import write_text
    from ragft.report.validation import validate, validation_csv, validation_markdown

    try:
        gold_table, gold_retrieval, gold = _results(args.gold_dir)
        generated_table, generated_retrieval, generated = _results(args.generated_dir)
    except (OSError, ValueError) as err:
        print(f"ragft validate: {err}", file=sys.stderr)
        return 2
    result = validate(gold_table, generated_table, gold_retrieval, generated_retrieval)
    text = validation_markdown(result, gold, generated)
    if args.out:
        write_text(args.out, text)
    else:
        print(text, end="")
    if args.csv:
        Path(args.csv).mkdir(parents=True, exist_ok=True)
        for name, csv in validation_csv(result).items():
            write_text(Path(args.csv) / name, csv)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return _validate(args) if args.command == "validate" else _ask(args)


if __name__ == "__main__":
    sys.exit(main())
