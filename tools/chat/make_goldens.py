#!/usr/bin/env python3
"""Expected chat-template renderings for swallow's template engine (tests/golden/chat).

Renders every case of tests/golden/chat/cases/*.json with every template it names
(tests/golden/chat/templates/) and writes tests/golden/chat/data/chat_goldens.jsonl: a header
line (script, library versions) and one line per rendering with the template, the exact
variables and the expected text (or the error the template raised).

The jinja2 environment is set up the way transformers' apply_chat_template sets it up:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
extension, a `tojson` filter that calls json.dumps(ensure_ascii=False, indent, separators,
sort_keys), and the globals raise_exception (raises TemplateError) and strftime_now. Variables
are passed as apply_chat_template passes them: the special tokens, the extra keyword arguments,
then messages, tools (None when absent), documents (None) and add_generation_prompt.

  python3 tools/chat/make_goldens.py                   # write the golden file (needs jinja2)
  python3 tools/chat/make_goldens.py --via-transformers ~/.cache/swallow/llama3.1-tokenizer
      # cross-check: render every case with transformers' own apply_chat_template (tokenize=False)
      # using that tokenizer's special tokens, and compare with the committed golden file.
"""

import argparse
import importlib.metadata
import json
import platform
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = ROOT / "tests" / "golden" / "chat"
DEFAULT_OUTPUT = GOLDEN_DIR / "data" / "chat_goldens.jsonl"


def make_environment():
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def iter_renderings():
    """Yields (id, template_name, case, add_generation_prompt, special_tokens) for every rendering."""
    for case_file in sorted((GOLDEN_DIR / "cases").glob("*.json")):
        spec = json.loads(case_file.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            prompts = [case["add_generation_prompt"]] if "add_generation_prompt" in case else [False, True]
            for template_name in spec["templates"]:
                for add_generation_prompt in prompts:
                    rendering_id = f"{case_file.stem}/{case['name']}/{template_name}/agp={str(add_generation_prompt).lower()}"
                    yield rendering_id, template_name, case, add_generation_prompt, spec["special_tokens"]


def template_variables(special_tokens, case, add_generation_prompt):
    """The keyword arguments apply_chat_template gives Template.render, in its order."""
    variables = dict(special_tokens)
    variables.update(case.get("extra", {}))
    variables["messages"] = case["messages"]
    variables["tools"] = case.get("tools")
    variables["documents"] = None
    variables["add_generation_prompt"] = add_generation_prompt
    return variables


def render(env, template_text, variables):
    try:
        return {"expected": env.from_string(template_text).render(**variables)}
    except Exception as e:  # raise_exception's TemplateError, UndefinedError, Python TypeError...
        return {"error": {"type": type(e).__name__, "message": str(e)}}


def write_goldens(output):
    env = make_environment()
    lines = []
    for rendering_id, template_name, case, add_generation_prompt, special_tokens in iter_renderings():
        template_text = (GOLDEN_DIR / "templates" / template_name).read_text(encoding="utf-8")
        variables = template_variables(special_tokens, case, add_generation_prompt)
        line = {"id": rendering_id, "template": template_name, "variables": variables}
        line.update(render(env, template_text, variables))
        lines.append(line)
    header = {
        "generator": "tools/chat/make_goldens.py",
        "renderer": "jinja2 ImmutableSandboxedEnvironment configured as transformers' apply_chat_template",
        "jinja2": importlib.metadata.version("jinja2"),
        "markupsafe": importlib.metadata.version("markupsafe"),
        "python": platform.python_version(),
        "renderings": len(lines),
    }
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        for line in [header] + lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    errors = sum(1 for line in lines if "error" in line)
    print(f"wrote {output}: {len(lines)} renderings ({errors} raise errors)")


def cross_check_with_transformers(tokenizer_dir, golden_path):
    try:
        import transformers
        from transformers import AutoTokenizer
    except ImportError:
        sys.exit("--via-transformers needs the transformers package (pip install transformers)")

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    with open(golden_path, encoding="utf-8") as f:
        committed = [json.loads(line) for line in f][1:]
    expected_by_id = {line["id"]: line for line in committed}
    mismatches = 0
    checked = 0
    for rendering_id, template_name, case, add_generation_prompt, _ in iter_renderings():
        template_text = (GOLDEN_DIR / "templates" / template_name).read_text(encoding="utf-8")
        golden = expected_by_id.get(rendering_id)
        if golden is None:
            print(f"MISSING in {golden_path}: {rendering_id}")
            mismatches += 1
            continue
        try:
            got = {"expected": tokenizer.apply_chat_template(
                case["messages"], tools=case.get("tools"), add_generation_prompt=add_generation_prompt,
                chat_template=template_text, tokenize=False, **case.get("extra", {}))}
        except Exception as e:  # the template's own errors, as apply_chat_template raises them
            got = {"error": {"type": type(e).__name__, "message": str(e)}}
        checked += 1
        if "expected" in golden and got.get("expected") != golden["expected"]:
            mismatches += 1
            print(f"MISMATCH {rendering_id}\n  jinja2:       {golden['expected']!r}\n  transformers: {got!r}")
        elif "error" in golden and "error" not in got:
            mismatches += 1
            print(f"MISMATCH {rendering_id}: jinja2 raised {golden['error']}, transformers rendered {got!r}")
    print(f"transformers {transformers.__version__}: {checked} renderings checked, {mismatches} mismatches")
    return mismatches == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="golden file to write (jinja2 mode)")
    parser.add_argument("--via-transformers", metavar="TOKENIZER_DIR",
                        help="compare the committed goldens with transformers' apply_chat_template instead of writing")
    args = parser.parse_args()
    if args.via_transformers:
        sys.exit(0 if cross_check_with_transformers(args.via_transformers, args.output) else 1)
    write_goldens(args.output)


if __name__ == "__main__":
    main()
