"""Stage `qa` (rules/qa.smk): a corpus's gold questions loaded, checked against its docs, and split
into train and eval (`gold`); for a corpus without them, questions generated from its chunks (`cloze`)."""
