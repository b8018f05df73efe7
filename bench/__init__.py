"""accord's benchmark suite: accord side by side with hand-written Python and peer engines.

Run it with ``python3 tasks.py bench`` (or ``.venv/bin/python -m bench --help``). Peer engines
come from the ``bench`` extra and are never imported by the ``accord`` package.
"""
