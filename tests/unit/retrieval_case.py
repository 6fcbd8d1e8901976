"""A hand-built retrieval case that the retrieval-metric and answering tests share: four chunks of
three docs, three questions (one without a gold doc) and one ranked run per question."""

CHUNK_DOC = {"a#0": "a", "a#1": "a", "b#0": "b", "c#0": "c"}
CHUNK_TEXT = {"a#0": "Alpha is red.", "a#1": "Alpha grows fast.", "b#0": "Beta is 42 days.", "c#0": "Gamma."}
QUESTIONS = [
    {"id": "q1", "question": "Beta?", "answers": ["42 days"], "doc_ids": ["b"]},
    {"id": "q2", "question": "Alpha?", "answers": ["red"], "doc_ids": ["a"]},
    {"id": "q3", "question": "Delta?", "answers": ["blue"], "doc_ids": []},
]
RUNS = [
    [("a#0", 0.9), ("b#0", 0.8), ("c#0", 0.1)],   # gold at rank 2
    [("a#1", 0.7), ("a#0", 0.6), ("c#0", 0.2)],   # gold doc at rank 1, answer only in rank 2
    [("c#0", 0.5), ("b#0", 0.4), ("a#0", 0.3)],   # no gold doc, no answer
]
