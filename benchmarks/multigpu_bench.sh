#!/usr/bin/env bash
# Multi-GPU SFT benchmark (issue: DeepSpeed SFT across the GPUs of one host). Runs, in one call:
#   1 GPU ZeRO-2, N GPUs ZeRO-2, N GPUs ZeRO-3 of the reference 1.5B model, then prints a summary
#   with per-GPU throughput, scaling efficiency (per-GPU tokens/s on N GPUs over 1 GPU), MFU, memory.
# Env: STEPS (default 12), MB (default 4), OUT (folder for logs and results.json, default /tmp).
# NVLink multicast stays off (a program using it can take the host's GPUs out of service).
set -uo pipefail
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
cd "$(dirname "$0")/.." || exit 1
N=$(nvidia-smi -L | wc -l)
OUT=${OUT:-/tmp}
STEPS=${STEPS:-12}
MB=${MB:-4}
run() {  # gpus zero
    local gpus=$1 zero=$2 log="$OUT/sft_z$2_g$1.log"
    CUDA_VISIBLE_DEVICES=$(seq -s, 0 $((gpus - 1))) timeout 420 torchrun --standalone --nproc_per_node="$gpus" \
        benchmarks/multigpu_sft.py --zero "$zero" --steps "$STEPS" --mb "$MB" >"$log" 2>&1
    grep '^RESULT ' "$log" | sed 's/^RESULT //' || { echo "{\"gpus\": $gpus, \"zero\": $zero, \"error\": \"see $log\"}"; tail -5 "$log" >&2; }
}
{
    run 1 2
    run "$N" 2
    run "$N" 3
} | tee "$OUT/runs.jsonl"
python3 - "$OUT" <<'PY'
import json, sys, subprocess
out = sys.argv[1]
runs = [json.loads(l) for l in open(f"{out}/runs.jsonl") if l.strip()]
one = next((r for r in runs if r.get("gpus") == 1 and "error" not in r), None)
for r in runs:
    if one and "error" not in r:
        r["scaling_efficiency_vs_1gpu_zero2"] = round(r["tokens_per_s_per_gpu"] / one["tokens_per_s_per_gpu"], 3)
card = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True).stdout.split("\n")[0]
res = {"benchmark": "multigpu_sft", "card": card, "gpu_count": max(r.get("gpus", 1) for r in runs), "runs": runs}
json.dump(res, open(f"{out}/results.json", "w"), indent=1)
print(json.dumps(res, indent=1))
PY
