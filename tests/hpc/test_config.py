"""Strict config loading: profiles, overrides, and the errors bad input gets (no cluster needed)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from elab_hpc.config import (CONFIG_ROOT, ClusterConfig, PipelineConfig, build_config, job_cpus_per_task,
                             job_mem_gb, load_cluster, load_pipeline)
from elab_hpc.errors import ConfigError

DEMO = CONFIG_ROOT / "pipeline" / "hpc_demo.yaml"


@pytest.mark.parametrize("name", ["local", "devcluster", "a100", "h200"])
def test_every_cluster_profile_loads(name):
    c = load_cluster(name)
    assert c.name == name and c.signal == "USR2" and c.requeue


def test_gpu_recipe_with_zero_gpus_shrinks_to_a_cpu_job():
    c = load_cluster("h200")
    assert c.gpus_per_node == 8 and job_cpus_per_task(c) == 96 and job_mem_gb(c) == 960
    cpu = load_cluster("h200", ["gpus_per_node=0"])
    assert job_cpus_per_task(cpu) == 1 and job_mem_gb(cpu) == 2


def test_pipeline_picks_profile_and_applies_dotlist_overrides():
    cfg = load_pipeline(DEMO, ["cluster=h200", "cluster.partition=a100", "stages.train.params.steps=7"])
    assert cfg.cluster.name == "h200" and cfg.cluster.partition == "a100"
    assert cfg.stages.train.params.steps == 7 and cfg.cluster.time_min == 2880


def test_typo_in_override_is_rejected_with_closest_key():
    with pytest.raises(ConfigError, match=r"cluster\.partiton.*did you mean 'cluster\.partition'"):
        load_pipeline(DEMO, ["cluster.partiton=h200"])
    with pytest.raises(ConfigError, match=r"stages\.train\.params\.stpes.*stages\.train\.params\.steps"):
        load_pipeline(DEMO, ["stages.train.params.stpes=3"])


def test_plus_prefix_adds_a_new_free_form_param():
    cfg = load_pipeline(DEMO, ["+stages.train.params.extra=1"])
    assert cfg.stages.train.params.extra == 1


@pytest.mark.parametrize("data,key", [
    ({"clustr": {}}, "clustr"),
    ({"cluster": {"nodes": "two"}}, "cluster.nodes"),
    ({"stages": {"a": {"fn": "m:f", "kidn": "array"}}}, "kidn"),
])
def test_unknown_key_or_wrong_type_in_yaml_names_the_key(data, key):
    with pytest.raises(ConfigError, match=key):
        build_config(PipelineConfig, data)


def test_wrong_type_in_override_names_the_key():
    with pytest.raises(ConfigError, match=r"cluster\.mem_gb"):
        load_pipeline(DEMO, ["cluster.mem_gb=lots"])


@pytest.mark.parametrize("override,match", [
    ("cluster.signal=USR1", "NCCL"),
    ("cluster.signal=NOPE", "unknown signal"),
    ("cluster.backend=k8s", "cluster.backend"),
    ("cluster.nodes=0", "cluster.nodes"),
    ("stages.merge.inputs=[shardz]", "did you mean 'shards'"),
    ("stages.train.fn=no_colon", "stages.train.fn"),
    ("stages.train.kind=gang", "stages.train.kind"),
    ("cluster=h100", "unknown profile 'h100'"),
])
def test_semantic_errors_are_config_errors(override, match):
    with pytest.raises(ConfigError, match=match):
        load_pipeline(DEMO, [override])


def test_unknown_resource_key_of_a_stage_is_rejected():
    with pytest.raises(ConfigError, match=r"resources\.gpu_per_node.*gpus_per_node"):
        load_pipeline(DEMO, ["+stages.train.resources.gpu_per_node=1"])


def test_cli_prints_config_error_without_traceback_and_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "elab_hpc.cli", "pipeline", "run", str(DEMO),
                           f"run_dir={tmp_path}/run", "cluster.qso=high"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "did you mean 'cluster.qos'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_embedded_default_equals_local_profile():
    assert load_cluster("local") == ClusterConfig()
