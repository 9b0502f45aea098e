"""The options every `signoff` command may take (Typer annotations, one definition each).

Kept apart from `tui.cli_common` so that opening the app (`tui.launch`) needs no Typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="<file|url>",
        help="Database file, or postgresql://… for a team's shared database "
        "[default: $SIGNOFF_DB, else db in the config, else the data dir].",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Config file [default: config.toml in the config dir].", show_default=False
    ),
]
ReviewerOption = Annotated[
    str | None,
    typer.Option(
        "--reviewer",
        help="Who you are [default: $SIGNOFF_REVIEWER, else login name; "
        "on a team database, your database login].",
        show_default=False,
    ),
]
KeymapOption = Annotated[
    str | None,
    typer.Option(
        "--keymap", help="default, vim or emacs [default: from the config].", show_default=False
    ),
]
