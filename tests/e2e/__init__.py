"""End-to-end: the real `python -m bot` process against a Bot API double over HTTP."""
