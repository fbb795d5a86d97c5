"""The IPython front doors: ``%%llama`` (``llama``, which owns the settings and the session), one
module per topic of the magics around it (``settings_magics``, ``history_magics``, ``account_magics``,
``explain``, ``panel_magic``), the line parser, the error boundary and the input transformer.
``extension`` registers and unregisters them.
"""
