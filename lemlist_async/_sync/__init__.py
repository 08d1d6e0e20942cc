"""The account sync, lemlist into SQLite or PostgreSQL; public in ``lemlist_async.sync``."""
