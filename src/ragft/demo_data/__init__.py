"""The demo corpus generator: `python -m ragft.demo_data resources/demo --seed 7` (`handbook`, from
the word lists in `vocabulary`)."""
