"""`python -m app` is the `bridgewatch` command."""

from app.cli import main

main()
