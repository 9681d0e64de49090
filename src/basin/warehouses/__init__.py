"""Warehouse engines: one folder per engine, same file names in each."""
