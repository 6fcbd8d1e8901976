"""Stage `finetune` (rules/finetune.smk): training examples from the builders (`examples`,
`synthetic`), the data report and contamination check (`data_report`), and (Q)LoRA training
(`trainer`, read top to bottom) with its batches (`collate`), callbacks and checkpoints."""
