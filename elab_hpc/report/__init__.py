"""The run report of a closed-loop pipeline: data quality, training curves, evaluation before /
after, tool selection, error taxonomy, time and cost per stage (build.py collects, render.py
writes HTML/markdown/JSON, summary.py prints the terminal table)."""
