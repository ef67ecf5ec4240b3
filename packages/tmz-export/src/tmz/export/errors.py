"""The errors tmz-export raises: each names the checkpoint or export, what was expected and what to do."""

from tmz.core.errors import TmzError


class ExportError(TmzError):
    """An export cannot be made (bad options, or the conversion itself failed)."""


class CheckpointError(ExportError):
    """The checkpoint directory is not a usable Hugging Face checkpoint (missing or unreadable files)."""


class ArchitectureError(CheckpointError):
    """The checkpoint's architecture matches no registered backend, or not the backend its manifest names."""


class VocabularyError(CheckpointError):
    """The checkpoint's vocabulary size differs from its backend's, or the tokenizer does not fit it."""


class TokenizerError(CheckpointError):
    """The tokenizer is not SentencePiece, or Hugging Face and SentencePiece tokenize a sample differently."""


class ChatTemplateError(CheckpointError):
    """The chat template does not render list content (as LiteRT-LM sends it) like the tmz-v1 prompt."""


class VisionNormalisationError(CheckpointError):
    """A vision checkpoint does not record how pixels were normalised in training, or records it inconsistently."""


class ParityError(ExportError):
    """The exported model, in LiteRT-LM, does not answer as its PyTorch checkpoint does (tmz.core.parity)."""
