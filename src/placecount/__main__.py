"""`python -m placecount` runs the command line."""

from placecount.cli import main

main()
