#!/usr/bin/env python3
"""Makes tiny random-weight Llama checkpoints and Hugging Face reference outputs for them.

For each checkpoint, OUT/<name>/ is a Hugging Face model folder as transformers saves it
(config.json, generation_config.json, model.safetensors or shards + index) plus
golden.safetensors (float32 logits rows at a few positions of a few prompts) and golden.json
(prompts, positions, 16-token greedy continuations, library versions). References are computed
by transformers in float32 on the CPU from the saved folder (bf16 weights upcast exactly).
Needs torch, transformers 5.x, safetensors and tokenizers; see tools/model/README.md.
"""

import argparse
import copy
import json
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import safetensors
import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

SCRIPT = "tools/model/make_tiny_checkpoints.py"
N_LAYERS = 2
GREEDY_TOKENS = 16
LLAMA31_VOCAB = 128256
SIZE_BUDGET_BYTES = 15_000_000
# Weight seeds are tried until every greedy step's top-2 logit gap is at least this fraction of
# the standard deviation of its logits row, so greedy tokens are robust to rounding differences.
MIN_RELATIVE_MARGIN = 0.02
MAX_SEED_TRIES = 500


def llama3_rope(theta, low, high, original):
    return {"rope_type": "llama3", "rope_theta": theta, "factor": 8.0, "low_freq_factor": low,
            "high_freq_factor": high, "original_max_position_embeddings": original}


@dataclass(frozen=True)
class Spec:
    name: str
    covers: str
    seed: int
    vocab_size: int = 512
    hidden_size: int = 64
    intermediate_size: int = 128
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int | None = None  # None: hidden_size / n_heads
    tied: bool = False
    storage: torch.dtype = torch.float32
    rope: dict = field(default_factory=lambda: {"rope_type": "default", "rope_theta": 10000.0})
    max_position_embeddings: int = 512
    legacy_config: bool = False  # rewrite config.json to rope_theta + rope_scaling + torch_dtype
    max_shard_bytes: int | None = None
    init_std: float = 0.2  # linear layers
    embed_std: float = 0.5  # embedding and lm_head: sets the logit scale, hence greedy margins
    bos: int = 1
    eos: int | list = 2
    sampling: dict = field(default_factory=dict)  # extra generation_config.json fields
    real_vocab: bool = False  # prompts from the Llama 3.1 tokenizer; golden rows first/last only


CHECKPOINTS = [
    Spec("gqa-f32-untied", seed=1,
         covers="GQA (4 query heads, 2 KV heads), f32 storage, untied lm_head, default rope, "
                "transformers-5 config form (rope_parameters, dtype), single model.safetensors"),
    Spec("mqa-headdim-bf16-tied", seed=2, hidden_size=48, intermediate_size=96, n_heads=4, n_kv_heads=1,
         head_dim=16, tied=True, storage=torch.bfloat16, legacy_config=True, eos=[2, 3],
         covers="MQA (1 KV head), head_dim 16 != hidden/heads 12, bf16 storage, tied embeddings, "
                "legacy config form with rope_scaling null and torch_dtype, eos list"),
    Spec("llama3rope-legacy-f32", seed=3, intermediate_size=96, max_position_embeddings=1024,
         rope=llama3_rope(500000.0, 1.0, 4.0, 64), legacy_config=True,
         covers="llama3 rope scaling (factor 8, low/high 1/4, original context 64; prompts reach 146 "
                "positions; head_dim 16 puts frequencies in all three bands) in the legacy form "
                "(rope_theta + rope_scaling.rope_type, torch_dtype), GQA, f32, untied"),
    Spec("llama3rope-sharded-bf16", seed=4, n_heads=8, n_kv_heads=2, head_dim=16, storage=torch.bfloat16,
         max_position_embeddings=1024, rope=llama3_rope(10000.0, 2.0, 8.0, 64), max_shard_bytes=100_000,
         covers="llama3 rope scaling (factor 8, low/high 2/8, theta 10000, original context 64) in the "
                "transformers-5 form (rope_parameters), head_dim 16 != hidden/heads 8, bf16, "
                "sharded safetensors with model.safetensors.index.json"),
    Spec("vocab128k-bf16-tied", seed=5, vocab_size=LLAMA31_VOCAB, hidden_size=32, intermediate_size=64,
         n_heads=4, n_kv_heads=2, tied=True, storage=torch.bfloat16, max_position_embeddings=131072,
         rope=llama3_rope(500000.0, 1.0, 4.0, 8192), legacy_config=True, embed_std=1.0,
         bos=128000, eos=[128001, 128008, 128009], sampling={"do_sample": True, "temperature": 0.6, "top_p": 0.9},
         real_vocab=True,
         covers="the real 128,256-token Llama 3.1 vocabulary (prompts tokenized with the Llama 3.1 "
                "tokenizer), bf16, tied, Llama 3.1 rope and config/generation_config as Llama 3.1 "
                "Swallow 8B (legacy form, eos list, temperature 0.6, top_p 0.9)"),
]


def fail(message):
    sys.exit(f"{SCRIPT}: {message}")


def versions():
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "safetensors": safetensors.__version__,
            "tokenizers": tokenizers.__version__}


def build_model(spec, weight_seed):
    config = LlamaConfig(
        vocab_size=spec.vocab_size, hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=N_LAYERS, num_attention_heads=spec.n_heads, num_key_value_heads=spec.n_kv_heads,
        head_dim=spec.head_dim, max_position_embeddings=spec.max_position_embeddings, rms_norm_eps=1e-5,
        rope_parameters=dict(spec.rope), tie_word_embeddings=spec.tied, initializer_range=spec.init_std,
        bos_token_id=spec.bos, eos_token_id=spec.eos)
    torch.manual_seed(weight_seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    # Weights of our own (seeded, independent of transformers' init): norm weights around 1 so
    # that a missing norm-weight multiply shows, matrices with the spec's standard deviations.
    generator = torch.Generator().manual_seed(weight_seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):  # tied weights are listed once
            noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
            if name.endswith("norm.weight"):
                param.copy_(1.0 + 0.2 * noise)
            elif name.endswith("embed_tokens.weight") or name == "lm_head.weight":
                param.copy_(spec.embed_std * noise)
            else:
                param.copy_(spec.init_std * noise)
    model.generation_config = GenerationConfig(bos_token_id=spec.bos, eos_token_id=spec.eos, **spec.sampling)
    return model


def to_legacy_config(folder):
    """Rewrites config.json as older transformers wrote it: rope_theta + rope_scaling, torch_dtype."""
    path = folder / "config.json"
    config = json.loads(path.read_text())
    if "rope_parameters" not in config or "dtype" not in config:
        fail(f"{path}: expected the transformers-5 keys rope_parameters and dtype, found {sorted(config)}")
    rope = dict(config.pop("rope_parameters"))
    config["rope_theta"] = rope.pop("rope_theta")
    config["rope_scaling"] = rope if rope.get("rope_type", "default") != "default" else None
    config["torch_dtype"] = config.pop("dtype")
    if config["head_dim"] == config["hidden_size"] // config["num_attention_heads"]:
        del config["head_dim"]  # older configs derive it
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def check_saved_folder(spec, folder, saved_model, reference):
    """The folder must be in the intended form and load back to exactly the saved weights."""
    config = json.loads((folder / "config.json").read_text())
    if spec.legacy_config != ("rope_parameters" not in config):
        fail(f"{folder}/config.json is not in the intended form (legacy={spec.legacy_config})")
    for key, value in spec.rope.items():
        if reference.config.rope_parameters.get(key) != value:
            fail(f"{folder}: transformers read rope {key}={reference.config.rope_parameters.get(key)!r}, "
                 f"expected {value!r}")
    if reference.config.head_dim != (spec.head_dim or spec.hidden_size // spec.n_heads):
        fail(f"{folder}: transformers read head_dim {reference.config.head_dim}")
    tied = reference.lm_head.weight.data_ptr() == reference.model.embed_tokens.weight.data_ptr()
    if tied != spec.tied:
        fail(f"{folder}: lm_head tied={tied}, expected {spec.tied}")
    loaded = reference.state_dict()
    for name, tensor in saved_model.state_dict().items():
        if not torch.equal(loaded[name], tensor.to(torch.float32)):
            fail(f"{folder}: tensor {name} did not load back unchanged")
    sharded = (folder / "model.safetensors.index.json").exists()
    if sharded != (spec.max_shard_bytes is not None):
        fail(f"{folder}: sharded={sharded}, expected {spec.max_shard_bytes is not None}")
    if not (folder / "generation_config.json").exists():
        fail(f"{folder}: no generation_config.json was written")


def make_prompts(spec, tokenizer):
    """(token ids, logits positions) pairs: first, middle and last positions (real vocab: first, last)."""
    if spec.real_vocab:
        texts = ["The capital of Japan is Tokyo. Mount Fuji is",
                 "日本の首都は東京です。富士山は日本で一番高い山で、標高は3776メートルです。"
                 "Swallow is a Japanese large language model built on Llama 3.1, and it"]
        prompts = [[spec.bos] + tokenizer.encode(text, add_special_tokens=False).ids for text in texts]
        return [(ids, [0, len(ids) - 1]) for ids in prompts]
    generator = torch.Generator().manual_seed(1000 + spec.seed)
    prompts = []
    for length in (1, 12, 130):
        ids = [spec.bos] + torch.randint(3, spec.vocab_size, (length - 1,), generator=generator).tolist()
        prompts.append((ids, sorted({0, length // 2, length - 1})))
    return prompts


@torch.inference_mode()
def logits_of(model, ids):
    return model(input_ids=torch.tensor([ids])).logits[0].to(torch.float32)  # [len(ids), vocab]


@torch.inference_mode()
def greedy(model, ids, n_tokens):
    """Argmax continuation from full forwards (no KV cache, eos ignored), with the smallest top-2
    logit gap of its steps, absolute and relative to the standard deviation of the logits row."""
    sequence = list(ids)
    min_gap, min_relative_gap = float("inf"), float("inf")
    for _ in range(n_tokens):
        last = logits_of(model, sequence)[-1]
        top2 = torch.topk(last, 2).values
        gap = float(top2[0] - top2[1])
        min_gap = min(min_gap, gap)
        min_relative_gap = min(min_relative_gap, gap / float(last.std()))
        sequence.append(int(torch.argmax(last)))
    return sequence[len(ids):], min_gap, min_relative_gap


def rounded_to_storage(model, storage):
    """A float32 copy whose parameters are rounded to the storage dtype: what the reference loads.
    (Casting the model itself would also round the rotary inv_freq buffer, which is not stored.)"""
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for param in rounded.parameters():
            param.copy_(param.to(storage).to(torch.float32))
    return rounded


def build_model_with_clear_margins(spec, prompts):
    """Tries weight seeds until greedy decoding of every prompt has clear top-2 gaps."""
    for attempt in range(MAX_SEED_TRIES):
        weight_seed = spec.seed * 1000 + attempt
        model = build_model(spec, weight_seed)
        as_stored = rounded_to_storage(model, spec.storage)
        if all(greedy(as_stored, ids, GREEDY_TOKENS)[2] >= MIN_RELATIVE_MARGIN for ids, _ in prompts):
            return model, weight_seed
    fail(f"{spec.name}: no weight seed in {MAX_SEED_TRIES} tries gives greedy margins >= {MIN_RELATIVE_MARGIN}")


def write_golden(spec, folder, reference, prompts, weight_seed, lib_versions):
    tensors, records = {}, []
    for i, (ids, positions) in enumerate(prompts):
        tensor_name = f"prompt{i}.logits"
        tensors[tensor_name] = logits_of(reference, ids)[positions].contiguous()  # [len(positions), vocab] f32
        tokens, gap, relative_gap = greedy(reference, ids, GREEDY_TOKENS)
        records.append({"ids": ids, "logits_positions": positions, "logits_tensor": tensor_name,
                        "greedy_tokens": tokens, "greedy_min_top2_gap": gap,
                        "greedy_min_top2_gap_over_logits_std": relative_gap})
    save_file(tensors, str(folder / "golden.safetensors"), metadata={"script": SCRIPT, **lib_versions})
    golden = {
        "checkpoint": spec.name, "covers": spec.covers, "script": SCRIPT, "versions": lib_versions,
        "weight_seed": weight_seed,
        "reference": {"computation": "transformers LlamaForCausalLM, float32, CPU, eager attention",
                      "greedy": f"argmax over full-sequence forwards, {GREEDY_TOKENS} tokens, eos ignored",
                      "tokenizer": "Llama 3.1 tokenizer.json" if spec.real_vocab else None},
        "prompts": records,
    }
    (folder / "golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")
    return min(r["greedy_min_top2_gap_over_logits_std"] for r in records)


def make_checkpoint(spec, out_dir, tokenizer_dir, copy_tokenizer, lib_versions):
    folder = out_dir / spec.name
    if folder.exists():
        shutil.rmtree(folder)
    tokenizer = None
    if spec.real_vocab:
        tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        if tokenizer.get_vocab_size(with_added_tokens=True) != spec.vocab_size:
            fail(f"{tokenizer_dir}/tokenizer.json has {tokenizer.get_vocab_size(True)} tokens, not {spec.vocab_size}")
    prompts = make_prompts(spec, tokenizer)
    model, weight_seed = build_model_with_clear_margins(spec, prompts)
    model = model.to(spec.storage)
    save_args = {} if spec.max_shard_bytes is None else {"max_shard_size": spec.max_shard_bytes}
    model.save_pretrained(folder, **save_args)
    if spec.legacy_config:
        to_legacy_config(folder)
    if spec.real_vocab and copy_tokenizer:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(tokenizer_dir / name, folder / name)
    reference = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager").eval()
    check_saved_folder(spec, folder, model, reference)
    margin = write_golden(spec, folder, reference, prompts, weight_seed, lib_versions)
    size = sum(f.stat().st_size for f in folder.iterdir())
    print(f"{spec.name:26s} {size / 1e6:6.2f} MB  {len(list(folder.iterdir())):2d} files  "
          f"params {sum(p.numel() for p in model.parameters()):>9,}  weight seed {weight_seed}  "
          f"min greedy top-2 gap / logits std {margin:.3f}")
    if margin < MIN_RELATIVE_MARGIN:
        print(f"  warning: {spec.name}: the saved model's greedy margins fell below {MIN_RELATIVE_MARGIN}")
    return size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer-dir", type=Path, required=True,
                        help="folder with the Llama 3.1 tokenizer.json and tokenizer_config.json")
    parser.add_argument("--out", type=Path, required=True, help="output folder (e.g. tests/golden/model/data)")
    parser.add_argument("--only", action="append", choices=[s.name for s in CHECKPOINTS],
                        help="make only this checkpoint (repeatable)")
    parser.add_argument("--copy-tokenizer", action="store_true",
                        help="also copy the 9 MB tokenizer files into the real-vocabulary checkpoint "
                             "(not done by default: keeps the committed fixtures under 15 MB)")
    args = parser.parse_args()
    if not (args.tokenizer_dir / "tokenizer.json").is_file():
        fail(f"{args.tokenizer_dir}/tokenizer.json not found")
    torch.use_deterministic_algorithms(True)
    args.out.mkdir(parents=True, exist_ok=True)
    lib_versions = versions()
    print(f"{SCRIPT}: " + ", ".join(f"{k} {v}" for k, v in lib_versions.items()))
    total = 0
    for spec in CHECKPOINTS:
        if args.only is None or spec.name in args.only:
            total += make_checkpoint(spec, args.out, args.tokenizer_dir, args.copy_tokenizer, lib_versions)
    print(f"total {total / 1e6:.2f} MB in {args.out}")
    if total > SIZE_BUDGET_BYTES:
        print(f"warning: fixtures exceed the {SIZE_BUDGET_BYTES / 1e6:.0f} MB budget")


if __name__ == "__main__":
    main()
