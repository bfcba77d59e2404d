from tests.imports.support import raw, raw_authors

__all__ = ["raw", "raw_authors"]
