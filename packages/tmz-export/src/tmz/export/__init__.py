"""tmz export: Convert a merged checkpoint to TFLite and check parity."""
