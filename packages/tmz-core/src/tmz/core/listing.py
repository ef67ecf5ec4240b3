"""Tables that never cut a name or a code, however narrow the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

#: The narrowest a folding column may get (nor narrower than its header) before a table gives way to plain lines.
MIN_FOLD_WIDTH = 8


def print_listing(
    console: Console, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], keys: int = 1
) -> None:
    """Print ``rows`` under ``title``. The first ``keys`` columns (names, codes) are never wrapped nor truncated;
    the others fold. When the console cannot give each of those MIN_FOLD_WIDTH and its header's width, print one
    block per row instead: its keys on a line, then ``column: value`` lines."""
    widths = [max([cell_len(c), *(cell_len(r[i]) for r in rows)]) for i, c in enumerate(columns[:keys])]
    folded = sum(max(MIN_FOLD_WIDTH, cell_len(c)) for c in columns[keys:])
    if console.width >= sum(widths) + folded + 3 * len(columns) + 1:
        table = Table(title=title, title_justify="left")
        for column, width in zip(columns[:keys], widths, strict=True):
            table.add_column(column, no_wrap=True, min_width=width)
        for column in columns[keys:]:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*map(Text, row))
        console.print(table)
        return
    console.print(title, style="italic", highlight=False)
    for row in rows:
        console.print("  ".join(row[:keys]), markup=False, highlight=False, soft_wrap=True)
        for column, value in zip(columns[keys:], row[keys:], strict=True):
            console.print(f"    {column}: {value}", markup=False, highlight=False, soft_wrap=True)
