#!/usr/bin/env python3
"""Makes the Hugging Face reference outputs for the shipped demo model (models/tiny-demo-ja).

Writes OUT/golden.json and OUT/golden.safetensors in the format of
tools/model/make_tiny_checkpoints.py (so tests/golden/model checks the demo model like the tiny
checkpoints), with "model_dir" naming the model folder, plus for each prompt the chat messages
and the text transformers' apply_chat_template renders from them. References: transformers
float32 on the CPU (bf16 weights upcast exactly); greedy continuations from full forwards.
Needs torch, transformers 5.x, safetensors and tokenizers.

    python3 tools/train_demo/make_goldens.py --model models/tiny-demo-ja \
        --out tests/golden/model/data/tiny-demo-ja
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model"))
from make_tiny_checkpoints import greedy, logits_of, versions  # noqa: E402

SCRIPT = "tools/train_demo/make_goldens.py"
GREEDY_TOKENS = 24
CHATS = [
    [{"role": "user", "content": "ls とは何ですか？"}],
    [{"role": "system", "content": "あなたは誠実で優秀な日本人のアシスタントです。"},
     {"role": "user", "content": "「シェルプロンプト」について教えてください。"}],
    [{"role": "user", "content": "Tell me about APT."}],
    [{"role": "user", "content": "ls とは何ですか？"},
     {"role": "assistant", "content": "ls は「ディレクトリの内容をリスト表示する」ためのコマンドです。"},
     {"role": "user", "content": "cp は？"}],
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="the demo model folder")
    parser.add_argument("--model-dir-in-repo", default="models/tiny-demo-ja",
                        help="the model folder as the tests find it, relative to the repository root")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = LlamaForCausalLM.from_pretrained(args.model, dtype=torch.float32, attn_implementation="eager").eval()
    args.out.mkdir(parents=True, exist_ok=True)
    lib_versions = versions()
    tensors, records = {}, []
    for i, messages in enumerate(CHATS):
        rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        encoded = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)
        ids = list(encoded["input_ids"])
        if ids != tokenizer(rendered, add_special_tokens=False)["input_ids"]:
            sys.exit(f"chat {i}: apply_chat_template ids differ from tokenizing its rendered text")
        positions = sorted({0, len(ids) // 2, len(ids) - 1})
        tensor_name = f"prompt{i}.logits"
        tensors[tensor_name] = logits_of(model, ids)[positions].contiguous()  # [len(positions), vocab] f32
        tokens, gap, relative_gap = greedy(model, ids, GREEDY_TOKENS)
        records.append({"messages": messages, "rendered": rendered, "ids": ids, "logits_positions": positions,
                        "logits_tensor": tensor_name, "greedy_tokens": tokens, "greedy_text": tokenizer.decode(tokens),
                        "greedy_min_top2_gap": gap, "greedy_min_top2_gap_over_logits_std": relative_gap})
        print(f"chat {i}: {len(ids)} prompt ids, min top-2 gap {gap:.4f}: {tokenizer.decode(tokens)!r}")
    save_file(tensors, str(args.out / "golden.safetensors"), metadata={"script": SCRIPT, **lib_versions})
    golden = {
        "checkpoint": "tiny-demo-ja", "model_dir": args.model_dir_in_repo, "script": SCRIPT,
        "covers": "the shipped demo model: its own 8k byte-level BPE, Llama-3 chat template, bf16 weights",
        "versions": lib_versions,
        "reference": {"computation": "transformers LlamaForCausalLM, float32, CPU, eager attention",
                      "greedy": f"argmax over full-sequence forwards, {GREEDY_TOKENS} tokens, eos ignored",
                      "template": "AutoTokenizer.apply_chat_template(add_generation_prompt=True)"},
        "prompts": records,
    }
    (args.out / "golden.json").write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
