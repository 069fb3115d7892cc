// Renders every case of data/chat_goldens.jsonl (written by tools/chat/make_goldens.py with
// jinja2 set up as transformers' apply_chat_template) and compares the prompts byte for byte;
// templates that raise must raise too, with raise_exception's message unchanged.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "chat/chat_template.h"
#include "core/error.h"
#include "core/mmap_file.h"
#include "support/test_support.h"

namespace swallow::test {
namespace {

struct Golden {
  nlohmann::ordered_json header;
  std::vector<nlohmann::ordered_json> renderings;
};

Golden load_goldens() {
  Golden golden;
  std::istringstream lines(read_file(source_path("tests/golden/chat/data/chat_goldens.jsonl")));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto json = nlohmann::ordered_json::parse(line);
    if (golden.header.is_null()) {
      golden.header = std::move(json);
    } else {
      golden.renderings.push_back(std::move(json));
    }
  }
  return golden;
}

const ChatTemplate& template_named(const std::string& name) {
  static std::map<std::string, ChatTemplate> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    it = cache.emplace(name, ChatTemplate(read_file(source_path("tests/golden/chat/templates/" + name)))).first;
  }
  return it->second;
}

void expect_valid_spans(const RenderedPrompt& prompt, const std::string& id) {
  size_t previous_end = 0;
  for (size_t i = 0; i < prompt.content_spans.size(); ++i) {
    const TextSpan& span = prompt.content_spans[i];
    EXPECT_LT(span.begin, span.end) << id;
    EXPECT_LE(span.end, prompt.text.size()) << id;
    if (i > 0) {
      EXPECT_GT(span.begin, previous_end) << id << ": spans must be sorted, disjoint and merged";
    }
    previous_end = span.end;
  }
}

TEST(ChatGolden, EveryRenderingMatchesJinja2) {
  const Golden golden = load_goldens();
  ASSERT_EQ(golden.renderings.size(), golden.header.at("renderings").get<size_t>());
  ASSERT_GE(golden.renderings.size(), 300u);
  size_t matched = 0;
  for (const auto& rendering : golden.renderings) {
    const std::string id = rendering.at("id").get<std::string>();
    SCOPED_TRACE(id);
    const ChatTemplate& chat_template = template_named(rendering.at("template").get<std::string>());
    if (rendering.contains("expected")) {
      const RenderedPrompt prompt = chat_template.render(rendering.at("variables"));
      EXPECT_EQ(prompt.text, rendering.at("expected").get<std::string>());
      expect_valid_spans(prompt, id);
      matched += prompt.text == rendering.at("expected").get<std::string>() ? 1 : 0;
      continue;
    }
    const auto& error = rendering.at("error");
    try {
      chat_template.render(rendering.at("variables"));
      ADD_FAILURE() << "jinja2 raised " << error.dump() << " but the render succeeded";
    } catch (const Error& e) {
      if (error.at("type") == "TemplateError") {
        EXPECT_EQ(std::string(e.what()), error.at("message").get<std::string>());
      }
      ++matched;
    }
  }
  EXPECT_EQ(matched, golden.renderings.size());
}

TEST(ChatGolden, EveryTemplateHasGoldens) {
  std::set<std::string> covered;
  for (const auto& rendering : load_goldens().renderings) covered.insert(rendering.at("template").get<std::string>());
  for (const auto& entry : std::filesystem::directory_iterator(source_path("tests/golden/chat/templates"))) {
    EXPECT_TRUE(covered.count(entry.path().filename().string())) << entry.path();
  }
}

}  // namespace
}  // namespace swallow::test
