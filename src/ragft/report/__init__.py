"""Stage `report` (rules/report.smk): the comparison and retrieval tables (`tables`) and plots (`plots`)."""
