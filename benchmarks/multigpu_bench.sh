#!/usr/bin/env bash
# Multi-GPU SFT benchmark (issue 8: DeepSpeed SFT across the GPUs of one host), all in one call:
#   1. the interconnect: NCCL all-reduce / reduce-scatter / all-gather of 3 GB (benchmarks/multigpu_nccl.py);
#   2. for each ENGINE:ZERO in RUNS, benchmarks/multigpu_sft.py under torchrun on 1 GPU and on all GPUs
#      (weak scaling: the same per-GPU micro-batch and accumulation on both);
#   3. a summary (results.json): per-GPU tokens/s, scaling efficiency = per-GPU tokens/s on N GPUs over
#      the 1-GPU run of the same engine, ZeRO stage and DeepSpeed config; MFU; peak memory.
# Env: RUNS (default "trl:2 trl:3 fast:2"; append ENGINE:ZERO:CONFIG.json to use another DeepSpeed
#      config), TRL_STEPS/TRL_GA (14/2), FAST_STEPS/FAST_GA (30/2), WARMUP (4), MB (4 x 2,048 tokens a
#      row), BUDGET_S (skip runs that would start after this many seconds; default 540),
#      OUT (logs and results.json; default /tmp/multigpu_bench).
# NVLink multicast stays off (a program that uses it can take the host's shared GPUs out of service).
set -uo pipefail
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.." || exit 1
N=${GPUS:-$(nvidia-smi -L | wc -l)}
OUT=${OUT:-/tmp/multigpu_bench}
RUNS=${RUNS:-"trl:2 trl:3 fast:2"}
TRL_STEPS=${TRL_STEPS:-14} TRL_GA=${TRL_GA:-2} FAST_STEPS=${FAST_STEPS:-30} FAST_GA=${FAST_GA:-2}
WARMUP=${WARMUP:-4} MB=${MB:-4} BUDGET_S=${BUDGET_S:-540}
mkdir -p "$OUT"
: >"$OUT/runs.jsonl"
start=$SECONDS

torchrun --standalone --nproc_per_node="$N" benchmarks/multigpu_nccl.py >"$OUT/nccl.log" 2>&1
grep '^RESULT ' "$OUT/nccl.log" | sed 's/^RESULT //' >"$OUT/nccl.json" || tail -5 "$OUT/nccl.log" >&2

sft() {  # gpus engine zero [ds_config]
    local gpus=$1 engine=$2 zero=$3 cfg=${4:-} steps ga name extra=()
    if [[ $engine == trl ]]; then steps=$TRL_STEPS ga=$TRL_GA; else steps=$FAST_STEPS ga=$FAST_GA; fi
    name="sft_${engine}_z${zero}_g${gpus}${cfg:+_$(basename "$cfg" .json)}"
    [[ -n $cfg ]] && extra=(--ds-config "$cfg" --tag "$(basename "$cfg" .json)")
    if (( SECONDS - start > BUDGET_S )); then
        echo "{\"engine\": \"$engine\", \"zero\": $zero, \"gpus\": $gpus, \"skipped\": \"time budget\"}" >>"$OUT/runs.jsonl"
        return
    fi
    echo "== $name ($((SECONDS - start)) s)" >&2
    CUDA_VISIBLE_DEVICES=$(seq -s, 0 $((gpus - 1))) timeout 200 torchrun --standalone --nproc_per_node="$gpus" \
        benchmarks/multigpu_sft.py --engine "$engine" --zero "$zero" --steps "$steps" --warmup "$WARMUP" \
        --mb "$MB" --ga "$ga" "${extra[@]}" >"$OUT/$name.log" 2>&1
    if ! grep '^RESULT ' "$OUT/$name.log" | sed 's/^RESULT //' >>"$OUT/runs.jsonl"; then
        echo "{\"engine\": \"$engine\", \"zero\": $zero, \"gpus\": $gpus, \"error\": \"see $name.log\"}" >>"$OUT/runs.jsonl"
        tail -8 "$OUT/$name.log" >&2
    fi
}

for spec in $RUNS; do
    IFS=: read -r engine zero cfg <<<"$spec"
    sft 1 "$engine" "$zero" "$cfg"
    sft "$N" "$engine" "$zero" "$cfg"
done

python3 - "$OUT" "$N" <<'PY'
import json, subprocess, sys, time
out, n = sys.argv[1], int(sys.argv[2])
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl") if l.strip()]
key = lambda r: (r.get("engine"), r.get("zero"), r.get("tag", ""))
ones = {key(r): r for r in runs if r.get("gpus") == 1 and "real_tokens_per_s" in r}
for r in runs:
    one = ones.get(key(r))
    if one and "real_tokens_per_s" in r:
        r["scaling_efficiency_per_gpu"] = round(r["tokens_per_s_per_gpu"] / one["tokens_per_s_per_gpu"], 3)
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip().splitlines()
try:
    nccl = json.load(open(f"{out}/nccl.json"))
except (OSError, ValueError):
    nccl = None
res = {"benchmark": "multigpu_sft", "card": smi[0].split(",")[0] if smi else None, "gpu_count": n,
       "nvidia_smi": smi, "time": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "nccl": nccl, "runs": runs}
json.dump(res, open(f"{out}/results.json", "w"), indent=1)
print(f"{'engine':6} {'Z':>2} {'tag':18} {'gpus':>4} {'tok/s/GPU':>10} {'scaling':>8} {'MFU':>6} {'peak GB':>8} {'period s':>9}  phases")
for r in runs:
    if "real_tokens_per_s" not in r:
        print(r)
        continue
    print(f"{r['engine']:6} {r['zero']:>2} {r['tag'][:18]:18} {r['gpus']:>4} {r['tokens_per_s_per_gpu']:>10} "
          f"{r.get('scaling_efficiency_per_gpu', '-'):>8} {r['mfu_per_gpu_vs_989TF']:>6} {r['peak_mem_GB_max_rank']:>8} "
          f"{r['median_period_s']:>9}  {r['phase_median_s']}")
print("nccl:", nccl)
PY
