"""The `ragft` command. `ragft ask --corpus NAME --system NAME "question"` answers one question with
the artefacts the workflow built under results/ and prints the sources it retrieved."""

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
    return p


def _only(name: str, given: str | None, choices) -> str:
    if given:
        return given
    choices = list(choices)
    if len(choices) == 1:
        return choices[0]
    raise SystemExit(f"ragft ask: choose --{name} among: {', '.join(choices)}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
