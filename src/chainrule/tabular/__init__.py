"""Tables: reading CSV/Parquet files as a person would, preprocessing, the
tabular recipe, and the ``chainrule train/predict/info`` commands.

``chainrule.tabular`` was the module that reads tables; its names stay here.
Importing this package imports neither pandas nor scikit-learn: each is loaded
by the function that needs it.
"""
from .read import check_file, detect_sep, detect_task, printable, read_table, spreadsheet_safe

__all__ = ["check_file", "detect_sep", "detect_task", "printable", "read_table",
           "spreadsheet_safe"]
