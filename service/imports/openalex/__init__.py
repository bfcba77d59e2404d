"""Importing OpenAlex records: ``inputs`` (files), ``records`` (pure mapping), ``store`` (SQL),
``batches`` (one transaction), ``importer`` (the command), ``progress`` (what an operator sees)."""
