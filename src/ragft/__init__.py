"""ragft: compare retrieval, fine-tuning and both for teaching an open LLM a domain."""

__version__ = "0.1.0"

# bitsandbytes and faiss log harmless notices while they are imported: quiet them before any is
from ragft.logs import quiet_library_notices  # noqa: E402

quiet_library_notices()
