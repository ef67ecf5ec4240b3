"""Tachelhit (Tashelhiyt, ISO 639-3 ``shi``) for tmz: a third-party plugin, entry point group ``tmz``."""
