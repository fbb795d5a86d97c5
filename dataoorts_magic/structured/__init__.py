"""Structured answers (``--schema``): the inline spec, JSON Schema, parse and bounded validation."""
