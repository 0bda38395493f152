"""PostgreSQL adapters: the pool, migrations and raw-SQL repositories (psycopg 3)."""
