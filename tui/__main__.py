"""`python -m tui`: the same entry point as the `signoff` console script."""

from tui.launch import main

if __name__ == "__main__":  # not again in a spawned process (`store.chain_split`)
    main()
