// `swallow tokenize`: prints the token ids of a text (from --text, else all of stdin byte for
// byte) as one JSON array. No BOS unless --add-bos; special-token text maps to its id only with
// --special (otherwise it is plain text).
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace swallow::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir;
  std::string tokenizer_file;
  std::string text;
  bool add_bos = false;
  bool special = false;
};

std::string read_all_stdin() {
  std::string data;
  char buffer[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), stdin)) > 0) data.append(buffer, n);
  if (std::ferror(stdin)) throw invalid_argument("cannot read stdin");
  return data;
}

int run_tokenize(const TokenizeOptions& options, bool text_given) {
  if (options.model_dir.empty() == options.tokenizer_file.empty()) {
    throw invalid_argument("tokenize needs exactly one of --model DIR or --tokenizer FILE");
  }
  const Tokenizer tokenizer = options.model_dir.empty() ? Tokenizer::from_file(options.tokenizer_file)
                                                        : Tokenizer::from_model_dir(options.model_dir);
  const std::string text = text_given ? options.text : read_all_stdin();
  const std::vector<int32_t> ids = tokenizer.encode(text, {.add_special_tokens = options.add_bos,
                                                           .parse_special = options.special});
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += "]\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

const SubcommandRegistration kRegistration(
    "tokenize", "Print the token ids of a text as a JSON array", [](CLI::App& sub) -> SubcommandRun {
      auto options = std::make_shared<TokenizeOptions>();
      sub.add_option("--model", options->model_dir, "Model folder holding tokenizer.json");
      sub.add_option("--tokenizer", options->tokenizer_file, "Path of a tokenizer.json");
      CLI::Option* text = sub.add_option("--text", options->text, "Text to tokenize (default: stdin, byte for byte)");
      sub.add_flag("--add-bos", options->add_bos, "Apply the post-processor (Llama 3: prepend <|begin_of_text|>)");
      sub.add_flag("--special", options->special, "Map special-token text such as <|eot_id|> to its id");
      return [options, text]() { return run_tokenize(*options, text->count() > 0); };
    });

}  // namespace
}  // namespace swallow::cli
