"""The validation engine: rules of a bundle evaluated on polars frames."""
