"""The typed ``settings`` and ``results`` of each manifest kind, one module per kind.

These models are the contract between packages: a stage writes them, the next one reads their fields; no
package reads a manifest's settings or results by string key. Every field is documented where it is defined;
docs/contracts.md points here.
"""
