"""``python -m medlens`` runs the command line."""

from medlens.cli import main

main()
