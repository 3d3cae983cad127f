"""``python -m engramdb``: the command line."""

from engramdb.cli import main

main()
