"""The widget panel (``%llama_panel``, ``dataoorts_magic.panel()``). ipywidgets is imported only here.

Not named ``panel/``: a submodule ``dataoorts_magic.panel`` would replace the function ``panel()``.
"""
