"""Stage `qa` (rules/qa.smk): a corpus's gold questions loaded, checked against its docs, and split
into train and eval (`gold`)."""
