"""Audit of generated eval questions: draw `n` of results/{corpus}/qa/eval.jsonl by seed, show each
with its answer and source sentence, and join a reviewer's verdicts (a CSV: id, verdict, note; verdict
`ok` when the question is complete, names what it is about and has one right answer in the corpus).

    python benchmarks/question_audit.py results/sec/qa/eval.jsonl --seed 7 --n 50 \
        --verdicts docs/audit/3m_verdicts.csv --title "3M 2018 10-K" > docs/audit/3m.md

Without --verdicts it prints the drawn questions as a CSV to mark. The counts of bare answers (a
year or a number under 100 without a unit, ragft.qa.spans.is_bare) cover every eval question.
"""

import argparse
import csv
import random
import sys

from ragft.jsonl import read_jsonl
from ragft.qa.spans import is_bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("eval")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--verdicts")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    questions = read_jsonl(args.eval)
    drawn = sorted(random.Random(args.seed).sample(questions, min(args.n, len(questions))), key=lambda q: q["id"])
    if not args.verdicts:
        out = csv.writer(sys.stdout)
        out.writerow(["id", "verdict", "note", "question", "answer"])
        for q in drawn:
            out.writerow([q["id"], "", "", q["question"], q["answers"][0]])
        return
    with open(args.verdicts, newline="") as fh:
        verdicts = {row["id"]: row for row in csv.DictReader(fh)}
    missing = [q["id"] for q in drawn if q["id"] not in verdicts]
    if missing:
        raise SystemExit(f"no verdict for {len(missing)} drawn questions, e.g. {missing[0]}")
    ok = sum(verdicts[q["id"]]["verdict"] == "ok" for q in drawn)
    bare = sum(is_bare(q["answers"][0]) for q in questions)
    print(f"# Audit of generated eval questions: {args.title}\n")
    print(f"{len(drawn)} of the {len(questions)} eval questions in `{args.eval}`, drawn with seed {args.seed}, "
          f"each read by a reviewer: is it complete, does it name what it is about, and does it have one right "
          f"answer in the corpus?\n")
    print(f"- **Accepted: {ok} of {len(drawn)}.**")
    print(f"- Bare answers (a year, or a number under 100 without a unit) among all {len(questions)} eval "
          f"questions: {bare} ({bare / len(questions):.1%}).\n")
    print("| # | question | answer | verdict | note |\n|---|---|---|---|---|")
    for k, q in enumerate(drawn, 1):
        v = verdicts[q["id"]]
        cells = [str(k), q["question"], q["answers"][0], v["verdict"], v.get("note", "")]
        print("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")


if __name__ == "__main__":
    main()
