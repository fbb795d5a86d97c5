"""``%llama_history``: the conversations of ``%%llama -c``, listed, shown, exported or cleared."""

from __future__ import annotations

import shlex

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .topic import TopicMagics
from .usage_errors import one_line_errors


@magics_class
class LlamaHistoryMagics(TopicMagics):
    """``%llama_history``."""

    @magic_arguments()
    @argument("name", nargs="?", default=None, help="the conversation (omit to list them all)")
    @argument("--clear", action="store_true", help="forget the conversation (all of them without NAME)")
    @argument(
        "--export",
        metavar="PATH",
        default=None,
        help="save the conversation: PATH.md a readable transcript, PATH.json messages, params and usage",
    )
    @line_magic
    def llama_history(self, line=""):
        """List the conversations of %%llama -c, show one as a transcript, export or clear it.

        In [1]: %llama_history
        In [2]: %llama_history tutor
        In [3]: %llama_history tutor --export tutor.md
        In [4]: %llama_history tutor --clear
        """
        from ..display import transcripts

        try:
            opts = self.llama_history.parser.parse_args(shlex.split(line))
        except ValueError:
            raise UsageError("Unbalanced quote in %llama_history: close the quote around the path.") from None
        chats = self.llama_session.conversations
        name = opts.name or ("default" if opts.export else None)
        conv = chats.find(name) if name else None
        if name and conv is None:
            known = ", ".join(chats.names()) or "none yet"
            raise UsageError(
                f"No conversation named {name!r} (conversations: {known}): start one with %%llama -c NAME."
            )
        if opts.export:
            with one_line_errors():
                path = transcripts.export(conv, opts.export)
            print(f"Conversation {name!r} ({len(conv.turns)} turns) written to {path}")
        if opts.clear:
            count = 1 if name else len(chats)
            chats.clear(name)
            print(f"Conversation {name!r} cleared." if name else f"Cleared {count} conversation(s).")
        if opts.export or opts.clear:
            return None
        from ..display.tables import conversation_table

        return transcripts.Transcript(conv) if conv else conversation_table(chats)
