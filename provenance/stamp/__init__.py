"""Stamping: label options, image and video stampers, the one entry point (:func:`.session.stamping`), batches of
files, and the catalog records of what was stamped."""
