"""Resumable stage pipelines: a DAG of stages, one manifest per stage, skip what is up to date."""
