"""Finding things: search, filters, orderings and facets over researchers, works, topics,
institutions and venues, behind one index interface (``index.py``)."""
