"""`python -m tui`: the same entry point as the `signoff` console script."""

from tui.launch import main

main()
