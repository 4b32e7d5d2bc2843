#!/usr/bin/env bash
# Peak working set (VmHWM) of one recurrent training run, each engine and hosting in its own process:
#   Nn.Simd published NativeAOT (bench/Nn.Simd.MemoryProbe), the same probe JIT-hosted, Nn.Simd in the benchmark
#   host (--memory nnsimd, JIT) and TorchSharp (--memory torch, JIT), plus each probe with 0 steps ("runtime
#   alone": the process, the runtime and the built model, no training).
# Usage, from the repository root:  bench/memory.sh [lstm|rnn] [H] [B] [steps]     (default: lstm 128 64 100)
#   RUNS=3 bench/memory.sh ...   repeats every process 3 times, interleaved, and reports medians.
# Needs the NativeAOT prerequisites (clang or gcc, zlib headers); the publish lands in bench/Nn.Simd.MemoryProbe/bin/aot.
set -euo pipefail

cell=${1:-lstm} units=${2:-128} batch=${3:-64} steps=${4:-100}
runs=${RUNS:-1}
if [[ $# -gt 4 ]]; then echo "usage: bench/memory.sh [lstm|rnn] [H] [B] [steps]" >&2; exit 2; fi
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then echo "RUNS must be a positive integer, got '$runs'" >&2; exit 2; fi
if [[ ! -f Nn.Simd.sln ]]; then echo "run from the repository root" >&2; exit 2; fi

aot_dir=bench/Nn.Simd.MemoryProbe/bin/aot
echo "publishing the probe NativeAOT into $aot_dir ..."
dotnet publish bench/Nn.Simd.MemoryProbe -c Release -r linux-x64 -o "$aot_dir" -nologo -v q
echo "building the benchmarks (Release) ..."
dotnet build bench/Nn.Simd.Benchmarks -c Release -nologo -v q

aot="$aot_dir/Nn.Simd.MemoryProbe"
# The publish's own IL build: the same program, run by the JIT.
jit_probe=bench/Nn.Simd.MemoryProbe/bin/Release/net10.0/linux-x64/Nn.Simd.MemoryProbe.dll
bench_dll=bench/Nn.Simd.Benchmarks/bin/Release/net10.0/Nn.Simd.Benchmarks.dll

names=("Nn.Simd probe, NativeAOT, 0 steps" "Nn.Simd probe, JIT, 0 steps"
       "Nn.Simd probe, NativeAOT" "Nn.Simd probe, JIT" "Nn.Simd bench host, JIT" "TorchSharp bench host, JIT")
commands=("$aot $cell $units $batch 0" "dotnet $jit_probe $cell $units $batch 0"
          "$aot $cell $units $batch $steps" "dotnet $jit_probe $cell $units $batch $steps"
          "dotnet $bench_dll --memory nnsimd $cell $units $batch $steps"
          "dotnet $bench_dll --memory torch $cell $units $batch $steps")
declare -A peaks bits

echo "load before: $(cat /proc/loadavg)"
for ((r = 1; r <= runs; r++)); do
  for i in "${!commands[@]}"; do
    line=$(${commands[$i]})
    echo "  [run $r] $line"
    peak=$(sed -n 's/.*peak working set \([0-9.]*\) MiB.*/\1/p' <<<"$line")
    [[ -n $peak ]] || { echo "no peak working set in: $line" >&2; exit 1; }
    peaks[$i]="${peaks[$i]:-} $peak"
    bits[$i]="${bits[$i]:-} $(sed -n 's/.*(bits \(0x[0-9A-F]*\)).*/\1/p' <<<"$line")"
  done
done
echo "load after: $(cat /proc/loadavg)"

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
torch=$(median "${peaks[5]}")

echo
echo "$cell H=$units B=$batch, $steps training steps; peak working set (VmHWM), median of $runs run(s):"
printf '  %-36s %10s %12s   %s\n' "engine, hosting" "peak MiB" "% of torch" "all runs (MiB)"
for i in "${!names[@]}"; do
  m=$(median "${peaks[$i]}")
  printf '  %-36s %10.1f %11.1f%%   %s\n' "${names[$i]}" "$m" "$(awk -v a="$m" -v b="$torch" 'BEGIN { print 100 * a / b }')" "${peaks[$i]# }"
done

# Same workload, same seeds: the final losses of the three Nn.Simd training runs must be the same float.
distinct=$(echo "${bits[2]} ${bits[3]} ${bits[4]}" | tr ' ' '\n' | sed '/^$/d' | sort -u)
if [[ $(wc -l <<<"$distinct") -eq 1 ]]; then
  echo "final loss: bit-identical across NativeAOT, JIT probe and bench host ($distinct)"
else
  echo "final loss DIFFERS between Nn.Simd runs: AOT${bits[2]} / JIT probe${bits[3]} / bench${bits[4]}" >&2
  exit 1
fi
