"""Gemma 4 as a tmz model backend: a third-party plugin, entry point group ``tmz``."""
