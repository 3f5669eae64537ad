"""The ``peep`` command: every argparse parser and every print of the package."""
