"""What goes into a prompt: ``{field}`` interpolation, DataFrames as Markdown, the notebook as context."""
