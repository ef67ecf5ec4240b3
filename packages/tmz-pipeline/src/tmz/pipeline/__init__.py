"""tmz pipeline: the whole chain in one command (``tmz pipeline run``) and the offline demo (``tmz demo``)."""
