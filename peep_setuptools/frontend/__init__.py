"""What both front ends (``cli`` and ``setuptools_command``) share, below them both.

``options``: the ``peep install`` options, their parser and their mapping onto
InstallOptions; ``running``: running an install as parsed, with its progress, messages,
--write-hashes and --report. Only the front ends import this package.
"""
