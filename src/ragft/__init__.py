"""ragft: compare retrieval, fine-tuning and both for teaching an open LLM a domain."""

__version__ = "0.1.0"
