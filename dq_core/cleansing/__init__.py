"""The cleansing engine: policy-ordered steps, deduplication with survivorship, rejects."""
