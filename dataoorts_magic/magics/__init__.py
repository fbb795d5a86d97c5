"""The IPython front doors: ``%%llama`` (``llama``), the magics around it (``tools``), the line parser,
the error boundary and the input transformer. ``extension`` registers and unregisters them.
"""
