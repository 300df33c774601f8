"""Allow `python -m safe_agent ...` (the demo uses it to approve from a separate process)."""

from safe_agent.cli import main

main()
