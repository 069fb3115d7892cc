#!/usr/bin/env python3
"""Trains swallow's embedded demo model: a tiny Llama-architecture Japanese/English chat model.

Runs on one GPU in a few minutes (python3 with torch, transformers 5.x, tokenizers). Input is the
output of make_corpus.py; output is a Hugging Face model folder that swallow (and transformers)
load as is: config.json, generation_config.json, tokenizer.json, tokenizer_config.json (with a
Llama-3-style chat template), model.safetensors (bf16), training_log.json.

    python3 tools/train_demo/train.py --data DATA_DIR --out models/swallow-demo-ja
Everything is seeded; the same inputs and library versions give the same model.
"""
import argparse
import json
import math
import os
import random
import time

import torch
import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL_TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                  "<|eot_id|>", "<|eom_id|>", "<|python_tag|>", "<|finetune_right_pad_id|>"]
VOCAB_SIZE = 8192
SYSTEM_PROMPT = "あなたは誠実で優秀な日本人のアシスタントです。"
# The Llama 3 chat template (as in Llama 3.1 Swallow), with an optional system message.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def render_chat(pair, with_system):
    text = "<|begin_of_text|>"
    turns = ([("system", SYSTEM_PROMPT)] if with_system else []) + [("user", pair["user"]), ("assistant", pair["assistant"])]
    for role, content in turns:
        text += f"<|start_header_id|>{role}<|end_header_id|>\n\n{content.strip()}<|eot_id|>"
    return text


def train_tokenizer(texts):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE - len(SPECIAL_TOKENS), min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
        special_tokens=[("<|begin_of_text|>", bos)])
    assert tok.get_vocab_size() == VOCAB_SIZE, tok.get_vocab_size()
    return tok


def build_stream(tok, docs, chats, seed):
    """One token stream: documents (BOS text EOS) and chat conversations, shuffled, chats twice."""
    eos = tok.token_to_id("<|end_of_text|>")
    samples = [("doc", d["text"]) for d in docs]
    rng = random.Random(seed)
    for c in chats:
        samples.append(("chat", render_chat(c, with_system=rng.random() < 0.5)))
        samples.append(("chat", render_chat(c, with_system=rng.random() < 0.5)))
    rng.shuffle(samples)
    ids = []
    for kind, text in samples:
        if kind == "doc":
            ids += tok.encode(text, add_special_tokens=True).ids + [eos]
        else:
            ids += tok.encode(text, add_special_tokens=False).ids
    return torch.tensor(ids, dtype=torch.long)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    docs = read_jsonl(os.path.join(args.data, "documents.jsonl"))
    chats = read_jsonl(os.path.join(args.data, "chat.jsonl"))
    tok = train_tokenizer([d["text"] for d in docs] + [c["user"] + "\n" + c["assistant"] for c in chats])
    stream = build_stream(tok, docs, chats, args.seed)
    n_val = max(args.seq * 8, len(stream) // 50)
    train_ids, val_ids = stream[:-n_val], stream[-n_val:]
    print(f"tokens: train {len(train_ids)}, validation {len(val_ids)}", flush=True)

    ids = {t: tok.token_to_id(t) for t in SPECIAL_TOKENS}
    config = transformers.LlamaConfig(
        vocab_size=VOCAB_SIZE, hidden_size=256, intermediate_size=768, num_hidden_layers=6,
        num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=2048,
        rms_norm_eps=1e-5, rope_theta=500000.0, tie_word_embeddings=True, initializer_range=0.02,
        bos_token_id=ids["<|begin_of_text|>"], eos_token_id=[ids["<|end_of_text|>"], ids["<|eot_id|>"]])
    model = transformers.LlamaForCausalLM(config).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params}", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = min(200, args.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) *
                                              (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps)))))
    gen = torch.Generator().manual_seed(args.seed)

    def batch_from(source, n):
        starts = torch.randint(0, len(source) - args.seq - 1, (n,), generator=gen)
        x = torch.stack([source[s:s + args.seq + 1] for s in starts.tolist()]).to(device)
        return x[:, :-1], x[:, 1:]

    def loss_of(x, y):
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            logits = model(input_ids=x).logits
        return torch.nn.functional.cross_entropy(logits.float().reshape(-1, VOCAB_SIZE), y.reshape(-1))

    log, t0 = [], time.time()
    for step in range(args.steps + 1):
        if step % 250 == 0:
            model.eval()
            with torch.no_grad():
                val = sum(loss_of(*batch_from(val_ids, args.batch)).item() for _ in range(4)) / 4
            model.train()
            entry = {"step": step, "val_loss": round(val, 4), "seconds": round(time.time() - t0, 1)}
            if log and "train_loss" in log[-1]:
                entry["train_loss"] = log[-1]["train_loss"]
            log.append(entry)
            print(json.dumps(entry), flush=True)
        if step == args.steps:
            break
        x, y = batch_from(train_ids, args.batch)
        loss = loss_of(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 250 == 249:
            log.append({"step": step + 1, "train_loss": round(loss.item(), 4)})

    os.makedirs(args.out, exist_ok=True)
    model = model.to(torch.bfloat16)
    model.config.dtype = torch.bfloat16
    model.save_pretrained(args.out, safe_serialization=True)
    gen_config = {"bos_token_id": ids["<|begin_of_text|>"], "eos_token_id": [ids["<|end_of_text|>"], ids["<|eot_id|>"]],
                  "do_sample": True, "temperature": 0.6, "top_p": 0.9}
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump(gen_config, f, indent=2)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    tok_config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>", "chat_template": CHAT_TEMPLATE,
                  "clean_up_tokenization_spaces": False, "model_max_length": 2048,
                  "tokenizer_class": "PreTrainedTokenizerFast"}
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(tok_config, f, indent=2, ensure_ascii=False)
    meta = {"parameters": n_params, "train_tokens": len(train_ids), "steps": args.steps, "batch": args.batch,
            "seq": args.seq, "lr": args.lr, "seed": args.seed, "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
            "log": log}
    with open(os.path.join(args.out, "training_log.json"), "w") as f:
        json.dump(meta, f, indent=1)

    # A look at what it learned: greedy answers through the chat template.
    model = model.float().eval()
    for question in ["「シェルプロンプト」について教えてください。", "ls とは何ですか？", "Tell me about APT."]:
        prompt = render_chat({"user": question, "assistant": ""}, with_system=True)
        prompt = prompt[: prompt.rindex("<|start_header_id|>assistant")] + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        x = torch.tensor([tok.encode(prompt, add_special_tokens=False).ids], device=device)
        out = model.generate(input_ids=x, max_new_tokens=80, do_sample=False, eos_token_id=ids["<|eot_id|>"])
        print(question, "->", tok.decode(out[0, x.shape[1]:].tolist(), skip_special_tokens=True), flush=True)


if __name__ == "__main__":
    main()
