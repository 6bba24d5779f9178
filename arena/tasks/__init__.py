"""EnterpriseArena task suite: synthesized (grounded) and hand-written verifiable tasks.

    from arena.tasks.suite import load_suite
    tasks = load_suite(split="test")            # list of task dicts, stable order

Files: `data/synth.jsonl` and `data/handwritten.jsonl` (regenerate with
`python -m arena.tasks.build`), `data/test_signatures.jsonl` (intents + gold tool sequences of the
test split; give it to synthesis as `exclude_tasks=`), `data/manifest.json` (counts and mix).
"""
