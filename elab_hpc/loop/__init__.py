"""The closed loop: stage functions (stages.py) the pipeline configs of configs/pipeline/ name,
and the rendering of synthesized trajectories in the evaluator's scaffold (scaffold.py)."""
