"""Tarifit (Riffian, ISO 639-3 ``rif``) for tmz: a third-party plugin, entry point group ``tmz``."""
