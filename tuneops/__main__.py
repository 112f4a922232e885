"""`python -m tuneops` runs the command line."""

from tuneops.cli import main

main()
