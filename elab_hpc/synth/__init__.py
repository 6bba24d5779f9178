"""Task synthesis: executable training trajectories from tool schemas.

    from elab_hpc.synth.sampler import Sampler, load_context
    ctx = load_context(seed=0, scale="small")      # registry (MCP discovery) + harvest + tool graph
    sampler = Sampler(ctx)                         # SamplerConfig defaults (configs/synth/default.yaml)
    for traj in sampler.run(n=100, seed=0):        # executed, composed, checks passing
        record = traj.to_record()

Modules: `types` (Step / Task / Trajectory, the record contract), `graph` (tool graph),
`memory` (slots, global harvest, local memory), `args` (constraint-aware argument filling),
`sampler` (DFS walks in fresh episode states), `compose` (thoughts → intent, checks, answer;
LLMComposer), `categories` (task category rules), `config` (SynthConfig). Checks themselves
live in `elab_hpc.env.checks`. Filtering, records, sharded runs and the report are built on
these (`filters`, `records`, `run`, `report`).
"""
