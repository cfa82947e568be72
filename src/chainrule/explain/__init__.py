"""Explaining a network: the chain-rule ledger (``trace``) and its views, the
gradient check, plots, and the classic demos."""
