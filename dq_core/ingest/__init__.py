"""Reading raw input files into polars (guarded ingest arrives with the cleansing issue)."""
