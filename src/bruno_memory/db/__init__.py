"""Database layer: declarative models, column types, engines, migrations and full-text search."""
