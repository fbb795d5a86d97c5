"""``%llama_usage`` and ``%llama_models``: what was spent, and what the models cost."""

from __future__ import annotations

from IPython.core.magic import line_magic, magics_class

from ..params import model_info, models
from .topic import TopicMagics


@magics_class
class LlamaAccountMagics(TopicMagics):
    """``%llama_usage`` and ``%llama_models``."""

    @line_magic
    def llama_usage(self, line=""):
        """Requests, tokens and cost per model: this session, and all time from the log.

        In [1]: %llama_usage
        """
        from ..errors import LogError

        session = {model: vars(t) for model, t in self.llama_session.spending.rows().items()}
        book = self.llama_session.exchange_log()
        all_time, note = None, f"All time: from {book.path}."
        if not book.path.exists():
            note = f"All time: no log yet at {book.path}."
        else:
            try:
                all_time = book.usage()
            except LogError as err:
                note = f"All time: unavailable ({err})."
        if not self.llama_session.effective()["log"]:
            note += " Logging is off (log=off), so new exchanges are not added to it."
        from ..display.tables import usage_table

        return usage_table(session, all_time, note)

    @line_magic
    def llama_models(self, line=""):
        """List the Dataoorts text models with their prices (USD per million tokens) and context windows."""
        current = self.llama_session.effective()["model"]
        rows = [
            [
                ("▶ " if name == current else "") + name,
                f"{m.input_usd_per_mtok:.2f}",
                f"{m.output_usd_per_mtok:.2f}",
                f"{m.context_window:,}",
            ]
            for name, m in models().items()
        ]
        note = (
            "" if model_info(current) else f"The current model {current} is not in the table: price and limits unknown."
        )
        from ..display.tables import Table

        return Table(
            ["model", "input $/M tokens", "output $/M tokens", "context window"],
            rows,
            title="Dataoorts text models",
            note=note,
        )
