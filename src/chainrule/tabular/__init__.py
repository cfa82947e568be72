"""Tables: reading CSV/Parquet files as a person would, preprocessing, the
tabular recipe, and the ``chainrule train/predict/info`` commands."""
